package ingest

import "github.com/vigil-health/vigil/internal/events"

var srcTCP = events.Source{Protocol: "syslog-tcp", Addr: "192.0.2.10:51514"}
