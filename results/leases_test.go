package results

import (
	"errors"
	"testing"
	"time"
)

func TestLeases(t *testing.T) {
	db, clk := openTest(t)
	_, err := db.UpsertRun(Run{ID: "r", Spec: "table6", Name: "resnet-20"})
	must(t, err)
	a := Lease{RunID: "r", Holder: "h1:10:1", Host: "h1", PID: 10}
	b := Lease{RunID: "r", Holder: "h1:11:1", Host: "h1", PID: 11}
	c := Lease{RunID: "r", Holder: "h2:12:1", Host: "h2", PID: 12}
	alive := func(int) bool { return false }        // "dead" reports false: every pid lives
	gone := func(pid int) bool { return pid == 10 } // a's process has exited
	const stale = 5 * time.Minute

	if ok, _, err := db.AcquireLease(a, stale, alive); err != nil || !ok {
		t.Fatalf("first lease: %v %v", ok, err)
	}
	// A live holder keeps the run: b (same host) and c (another) are refused.
	for _, l := range []Lease{b, c} {
		ok, held, err := db.AcquireLease(l, stale, alive)
		if err != nil || ok || held.Holder != a.Holder {
			t.Errorf("%s took a live lease: ok %v, held %+v, %v", l.Holder, ok, held, err)
		}
	}
	// The holder itself renews.
	if ok, _, err := db.AcquireLease(a, stale, alive); err != nil || !ok {
		t.Errorf("holder re-acquiring: %v %v", ok, err)
	}
	must(t, db.RenewLease("r", a.Holder))
	// On the same host a dead pid loses its lease at once; on another host
	// only staleness counts.
	if ok, _, _ := db.AcquireLease(c, stale, gone); ok {
		t.Error("another host took a fresh lease of a dead pid it cannot see")
	}
	if ok, _, err := db.AcquireLease(b, stale, gone); err != nil || !ok {
		t.Fatalf("same host, holder's pid gone: %v %v", ok, err)
	}
	if err := db.RenewLease("r", a.Holder); !errors.Is(err, ErrLeaseLost) {
		t.Errorf("the old holder's heartbeat after a take-over: %v, want ErrLeaseLost", err)
	}
	// No heartbeat for longer than stale: anyone takes it over.
	clk.t = clk.t.Add(stale + time.Second)
	if ok, _, err := db.AcquireLease(c, stale, alive); err != nil || !ok {
		t.Fatalf("stale lease: %v %v", ok, err)
	}
	must(t, db.ReleaseLease("r", b.Holder)) // not b's any more: nothing happens
	if l, ok, _ := db.GetLease("r"); !ok || l.Holder != c.Holder {
		t.Errorf("lease %+v %v, want c's", l, ok)
	}
	must(t, db.ReleaseLease("r", c.Holder))
	if _, ok, _ := db.GetLease("r"); ok {
		t.Error("a released lease is still held")
	}
}

func TestSegments(t *testing.T) {
	db, clk := openTest(t)
	_, err := db.UpsertRun(Run{ID: "r", Spec: "table6", Name: "resnet-20"})
	must(t, err)
	s1, err := db.StartSegment(Segment{RunID: "r", Host: "h", PID: 1, Backend: "onednn", Threads: 2, CPU: "x avx512f", Exact: true})
	must(t, err)
	must(t, db.EndSegment("r", s1.Started, 500))
	clk.t = clk.t.Add(time.Minute)
	_, err = db.StartSegment(Segment{RunID: "r", FromIteration: 500, Host: "h", PID: 2, Backend: "onednn", Threads: 1, Exact: false})
	must(t, err)
	segs, err := db.Segments("r")
	must(t, err)
	if len(segs) != 2 || segs[0].ToIteration != 500 || !segs[0].Exact || segs[0].Precision != "fp32" ||
		segs[1].FromIteration != 500 || segs[1].ToIteration != -1 || segs[1].Exact || segs[1].Threads != 1 {
		t.Errorf("segments %+v", segs)
	}
}
