package optim

import (
	"encoding/json"
	"math"
	"testing"

	"github.com/resnet-repro/resnet-repro/engine/nn"
)

// The CIFAR recipe (Sec. 4.2): 0.1, /10 at 32k and 48k.
func TestStepSchedule(t *testing.T) {
	s := NewStepSchedule(0.1, 10, []int{32000, 48000})
	for _, c := range []struct {
		it   int
		want float64
	}{{0, 0.1}, {31999, 0.1}, {32000, 0.01}, {47999, 0.01}, {48000, 0.001}, {63999, 0.001}} {
		if got := s.LR(c.it); math.Abs(got-c.want) > 1e-15 {
			t.Errorf("LR(%d) = %g, want %g", c.it, got, c.want)
		}
	}
}

// ResNet-110's warm-up: 0.01 until training error < 80%, then 0.1.
func TestWarmup(t *testing.T) {
	s := NewStepSchedule(0.1, 10, []int{32000, 48000}).WithWarmup(0.01, 0.8, 0, 1)
	if s.LR(0) != 0.01 {
		t.Fatalf("warm-up LR %g", s.LR(0))
	}
	if msg := s.ObserveTrainError(100, 0.85); msg != "" || s.LR(101) != 0.01 {
		t.Fatalf("warm-up ended early: %q", msg)
	}
	if msg := s.ObserveTrainError(400, 0.79); msg == "" || s.LR(401) != 0.1 || s.WarmupEndedAt != 400 {
		t.Fatalf("warm-up did not end: %q lr %g", msg, s.LR(401))
	}
}

// The warm-up rule averages a window of batch errors: with a window of 3,
// batch errors 0.9, 0.9, 0.7 average 0.833 (not below 0.8: warm-up goes
// on), then 0.9, 0.7, 0.6 average 0.733 and end it at that iteration; the window
// survives a JSON round trip (a checkpoint) mid-way.
func TestWarmupWindow(t *testing.T) {
	s := NewStepSchedule(0.1, 10, nil).WithWarmup(0.01, 0.8, 0, 3)
	for i, e := range []float64{0.9, 0.9, 0.7} {
		if msg := s.ObserveBatchError(i+1, e); msg != "" {
			t.Fatalf("iteration %d: warm-up ended early: %q", i+1, msg)
		}
	}
	raw, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	var r Schedule
	if err := json.Unmarshal(raw, &r); err != nil {
		t.Fatal(err)
	}
	if msg := r.ObserveBatchError(4, 0.6); msg == "" || r.WarmupEndedAt != 4 || r.LR(4) != 0.1 {
		t.Fatalf("warm-up did not end at 4: %q (ended at %d)", msg, r.WarmupEndedAt)
	}
	if msg := r.ObserveBatchError(5, 0.1); msg != "" || len(r.WarmupRecent) != 3 {
		t.Fatalf("after warm-up the window must stay still: %q, %v", msg, r.WarmupRecent)
	}
}

func TestPlateau(t *testing.T) {
	s := NewStepSchedule(0.1, 10, nil).WithPlateau(2, 0.001)
	s.ObserveValError(1, 0.5)
	s.ObserveValError(2, 0.4)
	s.ObserveValError(3, 0.4)
	if s.LR(3) != 0.1 {
		t.Fatalf("divided after one bad epoch")
	}
	if msg := s.ObserveValError(4, 0.4); msg == "" || math.Abs(s.LR(4)-0.01) > 1e-15 {
		t.Fatalf("no division after patience: %q %g", msg, s.LR(4))
	}
}

// One step by hand: w=1, g=0.5, wd=0.1, lr=0.1, m=0.9, v=0:
// v = 0.1*(0.5+0.1) = 0.06, w = 0.94; second step same g:
// v = 0.9*0.06 + 0.1*(0.5+0.094) = 0.054+0.0594 = 0.1134, w = 0.8266.
func TestSGDStep(t *testing.T) {
	p := &nn.Param[float32]{Name: "w", Data: []float32{1}, Grad: []float32{0.5}}
	s := NewSGD([]*nn.Param[float32]{p}, 0.9, 0.1)
	s.Step(0.1)
	if math.Abs(float64(p.Data[0])-0.94) > 1e-6 {
		t.Fatalf("after step 1: %v", p.Data[0])
	}
	s.Step(0.1)
	if math.Abs(float64(p.Data[0])-0.8266) > 1e-6 {
		t.Fatalf("after step 2: %v", p.Data[0])
	}
}
