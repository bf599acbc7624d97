package experiments

import "fmt"

// MACsFunc returns the multiply-adds of one forward pass of one image
// through the network cfg describes (the model zoo's analytic count). It
// takes the whole resolved Config because a name alone is ambiguous:
// "resnet-50" is Table 1's net in an ImageNet layout and a 6n+2 net in a
// CIFAR one.
type MACsFunc func(cfg Config) (int64, error)

// Cost estimates the compute of a set of resolved runs.
type Cost struct {
	// Trainings counts run x seed.
	Trainings int `json:"trainings"`
	// TrainImages is the sum over runs of iterations x batch x seeds.
	TrainImages int64 `json:"train_images"`
	// EvalImages is the sum over runs and seeds of the images evaluated:
	// (iterations / interval) periodic evaluations with one view each,
	// plus one final evaluation per final view, each over the evaluation
	// set (or its subset). A 10-crop evaluation counts 10 images per image;
	// a multi-scale one counts one per scale.
	EvalImages int64 `json:"eval_images"`
	// MultiplyAdds is 3 x forward multiply-adds x TrainImages (forward,
	// backward-data, backward-weights) plus forward multiply-adds x
	// EvalImages, at the run's input size. Zero when no MACsFunc is given
	// (or nothing is trained). A float: paper-scale ImageNet totals pass
	// 2^63.
	MultiplyAdds float64 `json:"multiply_adds"`
	HaveMACs     bool    `json:"have_macs"`
}

// evalSetSize is the number of images of each evaluation set.
var evalSetSize = map[string]map[string]int64{
	"cifar10":  {"test": 10000}, // CIFAR-10 test set (A.10)
	"imagenet": {"val": 50000},  // ILSVRC 2012 val (A.10)
}

// EstimateCost adds up the cost of runs; macs may be nil (then only image
// counts are given). Analytic and diagram runs cost nothing.
func EstimateCost(runs []ResolvedRun, macs MACsFunc) (Cost, error) {
	c := Cost{HaveMACs: macs != nil}
	for _, r := range runs {
		t, ev := r.Config.Training, r.Config.Eval
		if t == nil || ev == nil {
			continue
		}
		seeds := int64(len(r.Seeds))
		train := int64(t.Iterations) * int64(t.Batch) * seeds
		set := evalSetSize[r.Config.Dataset][ev.Set]
		if ev.Subset > 0 {
			set = min(set, int64(ev.Subset))
		}
		var per int64
		if ev.Interval > 0 {
			per += int64(t.Iterations/ev.Interval) * set
		}
		for _, v := range ev.FinalViews {
			switch v {
			case "10-crop":
				per += 10 * set
			case "multi-scale":
				per += int64(len(ev.MultiScales)) * set
			default:
				per += set
			}
		}
		eval := per * seeds
		c.Trainings += len(r.Seeds)
		c.TrainImages += train
		c.EvalImages += eval
		if macs != nil {
			m, err := macs(r.Config)
			if err != nil {
				return c, fmt.Errorf("run %s: %w", r.Name, err)
			}
			c.MultiplyAdds += 3*float64(m)*float64(train) + float64(m)*float64(eval)
		}
	}
	return c, nil
}
