package cases

import (
	"sort"
	"testing"
	"time"
)

func TestIDsSortByTimeAndOrderOfMaking(t *testing.T) {
	if got := idFloor("AL", time.UnixMilli(0)); got != "AL-00000000000000000000000000" {
		t.Errorf("floor of 0 = %s", got)
	}
	// 2^48-1 ms is the largest time: 7ZZZZZZZZZ.
	if got := idFloor("AL", time.UnixMilli(1<<48-1)); got[:13] != "AL-7ZZZZZZZZZ" {
		t.Errorf("floor of max = %s", got)
	}
	base := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	var ids []string
	for i := range 2000 {
		ids = append(ids, newID("AL", base.Add(time.Duration(i/500)*time.Millisecond)))
	}
	if !sort.StringsAreSorted(ids) {
		t.Fatal("IDs made one after another do not sort in that order")
	}
	for _, id := range ids {
		if !validID("AL", id) || id < idFloor("AL", base) || id >= idFloor("AL", base.Add(4*time.Millisecond)) {
			t.Fatalf("%s outside its millisecond range", id)
		}
	}
	for _, bad := range []string{"", "AL-", "CS-" + ids[0][3:], ids[0] + "0", "AL-0000000000000000000000000I", "AL-00000000000000000000000000'"} {
		if validID("AL", bad) {
			t.Errorf("validID(%q) = true", bad)
		}
	}
}
