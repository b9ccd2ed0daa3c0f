"""OASIS's cti-taxii-client (taxii2client.v21) against a running Vigil: discover, read, post.

Not run by `make test`: the client is not in Debian and PyPI is not reachable from CI. To run it
(docs/intel.md, "Pointing a TAXII client at Vigil"):

  apt-get install python3-requests python3-six python3-tz
  git clone https://github.com/oasis-open/cti-taxii-client /tmp/taxii2client   # or pip install taxii2-client
  vigil demo --password-stdin <<< 'correct horse battery staple 42'
  vigil intel collection create --title "National indicators" --tlp-ceiling AMBER --format json
  vigil intel collection grant ID --org ENG; vigil intel collection grant ID --org ENG --role national-analyst --write
  vigil intel import --collection ID ../shared/data/stix/examples/cti-stix2-json-schemas/threat-reports/apt1.json
  vigil serve --http 127.0.0.1:18080 &
  PYTHONPATH=/tmp/taxii2client python3 docs/interop/taxii2-client.py http://127.0.0.1:18080/taxii2/
"""
import os, sys, json, uuid, datetime
from taxii2client.v21 import Server, Collection, as_pages
from taxii2client.exceptions import TAXIIServiceException
import requests

base = sys.argv[1]
pw = os.environ.get("VIGIL_DEMO_PASSWORD", "correct horse battery staple 42")
srv = Server(base, user="nadia.national@demo.vigil.invalid", password=pw)
print("discovery:", srv.title, "| default:", srv.default.url, "| api_roots:", [a.url for a in srv.api_roots])
root = srv.default
print("api root:", root.title, root.versions, "max_content_length", root.max_content_length)
cols = root.collections
for c in cols:
    print("collection:", c.id, c.title, "can_read", c.can_read, "can_write", c.can_write, c.media_types)
col = cols[0]
n = 0; pages = 0
for env in as_pages(col.get_objects, per_request=10):
    pages += 1
    n += len(env.get("objects", []))
print("read", n, "objects in", pages, "pages of 10")
man = col.get_manifest()
print("manifest entries:", len(man.get("objects", [])))
now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
ind = {"type": "indicator", "spec_version": "2.1", "id": "indicator--" + str(uuid.uuid4()),
       "created": now, "modified": now, "name": "interop test", "pattern_type": "stix",
       "pattern": "[ipv4-addr:value = '198.51.100.77']", "valid_from": now,
       "object_marking_refs": ["marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da"]}
status = col.add_objects({"objects": [ind]}, wait_for_completion=True, poll_interval=1, timeout=30)
print("post status:", status.status, "success", status.success_count, "failure", status.failure_count, "pending", status.pending_count)
got = col.get_object(ind["id"])
print("object by id:", [o["id"] == ind["id"] for o in got["objects"]])
vers = col.object_versions(ind["id"])
print("versions:", vers.get("versions"))
# a trust analyst (no grant on the collection's write, reads via ENG grant)
kim = Collection(col.url, user="kim.kings@demo.vigil.invalid", password=pw)
try:
    kim.add_objects({"objects": [ind]})
    print("kim post: accepted (unexpected)")
except (TAXIIServiceException, requests.exceptions.HTTPError) as e:
    print("kim post refused:", str(e)[:120])
bad = Server(base, user="nadia.national@demo.vigil.invalid", password="wrong")
try:
    bad.refresh(); print("wrong password: accepted (unexpected)")
except (TAXIIServiceException, requests.exceptions.HTTPError) as e:
    print("wrong password refused:", str(e)[:80])
print("modified sent:", ind["modified"], "returned:", got["objects"][0]["modified"])
listed = vers.get("versions")[-1]
again = col.get_object(ind["id"], version=listed)
print("object by its listed version:", len(again.get("objects", [])) == 1, "(version", listed + ")")
