package vuln

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	cdx "github.com/CycloneDX/cyclonedx-go"
)

// cdxGoXML is cyclonedx-go's reading of b, in readCDXXML's terms, or
// nil if it refuses b.
func cdxGoXML(b []byte) *cdxXML {
	var bom cdx.BOM
	if cdx.NewBOMDecoder(bytes.NewReader(b), cdx.BOMFileFormatXML).Decode(&bom) != nil {
		return nil
	}
	doc := &cdxXML{serial: bom.SerialNumber}
	of := func(c *cdx.Component) cdxXMLComponent {
		return cdxXMLComponent{ref: c.BOMRef, group: c.Group, name: c.Name, version: c.Version, purl: c.PackageURL, cpe: c.CPE}
	}
	if bom.Metadata != nil && bom.Metadata.Component != nil {
		m := of(bom.Metadata.Component)
		doc.subject = &m
	}
	var walk func(cs *[]cdx.Component)
	walk = func(cs *[]cdx.Component) {
		if cs == nil {
			return
		}
		for i := range *cs {
			doc.components = append(doc.components, of(&(*cs)[i]))
			walk((*cs)[i].Components)
		}
	}
	walk(bom.Components)
	return doc
}

// asCycloneDXGo fails if cyclonedx-go accepts b and readCDXXML reads it
// otherwise, or refuses it.
func asCycloneDXGo(t *testing.T, b []byte) {
	t.Helper()
	want := cdxGoXML(b)
	if want == nil {
		return
	}
	got, err := readCDXXML(b)
	if err != nil {
		t.Fatalf("%q: cyclonedx-go reads it, readCDXXML: %v", b, err)
	}
	if len(got.components) == 0 {
		got.components = nil
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%q:\nreadCDXXML   %+v %+v\ncyclonedx-go %+v %+v", b, got, got.subject, want, want.subject)
	}
}

const cdxXMLHead = `<?xml version="1.0" encoding="UTF-8"?>` + "\n" + `<bom xmlns="http://cyclonedx.org/schema/bom/1.4" serialNumber="urn:uuid:1" version="1">`

// TestCDXXMLAsCycloneDXGo: readCDXXML reads the shared CycloneDX XML
// SBOMs and hand-made edge cases as cyclonedx-go does, and refuses
// broken XML with its line.
func TestCDXXMLAsCycloneDXGo(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(dataDir, "sbom", "*.xml"))
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if cdxGoXML(b) == nil {
			t.Fatalf("%s: cyclonedx-go refuses it", f)
		}
		asCycloneDXGo(t, b)
	}
	for _, s := range []string{
		`<metadata><component type="application" bom-ref="app"><name>app</name><version>1</version><components><component><name>not walked</name></component></components></component></metadata>
<components>
  <component type="library" bom-ref="a&amp;b"><group>g</group><name>a</name><version>1.0</version>
    <purl>pkg:apk/alpine/musl@1.2.3-r4?arch=x86_64&amp;distro=alpine-3.17.2&amp;upstream=musl</purl>
    <hashes><hash alg="SHA-1">00</hash></hashes>
    <pedigree><ancestors><component><name>ancestor</name></component></ancestors></pedigree>
    <components><component><name>inner</name><purl><![CDATA[pkg:npm/x@1&2]]></purl></component></components>
    <cpe>cpe:2.3:a:x:y:1:*:*:*:*:*:*:*</cpe>
    <name>a2</name><!-- the last name wins -->
  </component>
  <component><name>&#x41;&#66;<x>not text</x>C</name><version>` + "1\r\n2\r3" + `</version><purl/></component>
</components>
<bom:components xmlns:bom="http://cyclonedx.org/schema/bom/1.4"><bom:component bom:bom-ref="p"><bom:name>prefixed</bom:name></bom:component></bom:components>
<services><service><name>s</name></service></services>
<component><name>not in components</name></component>
</bom>trailing <junk`,
		`<!DOCTYPE bom [<!ENTITY x "y">]><!-- c --><bom><components><component><name>a</name></component></components></bom>`,
		`<bom><metadata><component><name>one</name></component></metadata><metadata><component><version>2</version></component></metadata></bom>`,
		`<bom/>`,
	} {
		b := []byte(s)
		if !strings.HasPrefix(s, "<!DOCTYPE") && !strings.HasPrefix(s, "<bom") {
			b = []byte(cdxXMLHead + s)
		}
		if cdxGoXML(b) == nil {
			t.Fatalf("%q: cyclonedx-go refuses it", s)
		}
		asCycloneDXGo(t, b)
	}
	for _, s := range []string{
		cdxXMLHead + "<components>\n<component><name>a</nam></component></components></bom>",
		cdxXMLHead + "<components>\n<component><name>a &nbsp; b</name></component></components></bom>",
		cdxXMLHead + "<components>\n<component bom-ref=x><name>a</name></component></components></bom>",
		cdxXMLHead + "<components>\n<component><name>a</name></component>",
		"<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>\n<bom></bom>",
		"<sbom xmlns=\"http://cyclonedx.org/schema/bom/1.4\"></sbom>",
	} {
		if _, err := readCDXXML([]byte(s)); err == nil || !strings.Contains(err.Error(), "line") {
			t.Errorf("%q: error %v, want one naming a line", s, err)
		}
		if cdxGoXML([]byte(s)) != nil {
			t.Errorf("%q: cyclonedx-go reads it: not a case of broken XML", s)
		}
	}
}

// FuzzCDXXMLAsCycloneDXGo: every document cyclonedx-go reads,
// readCDXXML reads the same.
func FuzzCDXXMLAsCycloneDXGo(f *testing.F) {
	f.Add([]byte(cdxXMLHead + `<metadata><component bom-ref="m"><name>m</name></component></metadata><components><component bom-ref="r"><group>g</group><name>n&amp;</name><version>1</version><purl>pkg:npm/a@1</purl><cpe>c</cpe><components><component><name><![CDATA[x]]></name></component></components></component></components></bom>`))
	if b, err := os.ReadFile(filepath.Join(dataDir, "sbom", "container-alpine-3.17.cdx14.xml")); err == nil {
		f.Add(b[:min(len(b), 4<<10)])
	}
	f.Fuzz(func(t *testing.T, b []byte) { asCycloneDXGo(t, b) })
}
