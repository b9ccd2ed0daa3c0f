package ingest

// NetFlowListener receives flow exports over UDP: NetFlow v5, v9 and
// IPFIX on one port, told apart per datagram by its version. Each flow
// record becomes one event (FlowEvent), owned by the organisation the
// org map gives the exporter's address. Like syslog over UDP nothing is
// acknowledged: datagrams are queued (bounded), decoded and published in
// batches of what arrived meanwhile.
//
// Data sets whose template is not known yet (Vigil or the exporter just
// restarted) are dropped and counted (Metrics.Flows NoTemplate), not
// held: exporters resend templates every few packets or seconds, and
// holding data for a template that may never come would need a bound of
// its own. A datagram no flow can be read from is kept as one event
// with a parse error and its first 256 bytes in hex, as unparseable text
// is; a datagram damaged part way keeps the flows before the damage.
type NetFlowListener struct {
	udpServer
	dec     *NetFlowDecoder
	sources *LogSources
	flows   []Flow // scratch of the publisher goroutine
	buf     []byte // what is left of the flowSource's buffer
}

// NewNetFlowListener returns a flow listener; t bounds its template
// cache (zero: DefaultMaxTemplates, DefaultTemplateTTL).
func NewNetFlowListener(opts ListenerOptions, t TemplateOptions) (*NetFlowListener, error) {
	if err := opts.validate(ListenerNetFlow); err != nil {
		return nil, err
	}
	if t.Now == nil {
		t.Now = opts.Now
	}
	l := &NetFlowListener{
		udpServer: udpServer{base: base{o: opts, protocol: ListenerNetFlow, log: opts.Logger}},
		dec:       NewNetFlowDecoder(t),
		sources:   opts.Normaliser.sources,
	}
	l.handle = l.addDatagram
	return l, nil
}

// Templates is the listener's template cache (for its size figures).
func (l *NetFlowListener) Templates() *TemplateCache { return l.dec.Templates }

func (l *NetFlowListener) addDatagram(b *batch, d datagram) {
	exporter := d.from.Addr().Unmap()
	flows, st, err := l.dec.Decode(exporter, d.data, l.flows[:0])
	l.flows = flows[:0]
	org := l.o.Orgs.Org(l.o.Name, d.from.Addr())
	l.o.Metrics.flowDatagram(l.o.Name, len(flows), st, err != nil)
	host := ""
	if d.from.IsValid() {
		host = exporter.String()
	}
	if err != nil {
		l.log.Debug("ingest: flow datagram", "listener", l.o.Name, "exporter", host, "err", err)
		if len(flows) == 0 {
			ev := datagramEvent(d.data, d.from, org, d.received, err)
			b.evs = append(b.evs, ev)
			b.acc = append(b.acc, acceptedEvent{org: org, addr: host, bytes: len(d.data), parseError: true})
			return
		}
	}
	per := 0
	if len(flows) > 0 {
		per = len(d.data) / len(flows)
	}
	src := newFlowSource(d.from, org, d.received, l.sources)
	if len(flows) > 0 {
		src.logSource(&flows[0]) // a datagram's flows are of one version
	}
	src.buf = l.buf
	for i := range flows {
		f := &flows[i]
		if src.fixed && flowFormat(f.Version) == src.format {
			// As records: each consumer makes the event (flowstream.go).
			b.flows = append(b.flows, flowItem{src: src, f: *f, id: flowID(src.host, f, flowOwnTime(f))})
			b.flows[len(b.flows)-1].f.Record = nil
		} else {
			b.evs = append(b.evs, src.event(f))
		}
		b.acc = append(b.acc, acceptedEvent{org: org, addr: host, bytes: per})
		f.Record = nil
	}
	l.buf = src.buf
}
