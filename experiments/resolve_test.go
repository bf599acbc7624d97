package experiments

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"regexp"
	"strings"
	"testing"
)

func resolveBuiltin(t *testing.T, id string, opts Options) *Resolved {
	t.Helper()
	s, err := Lookup(id, nil)
	if err != nil {
		t.Fatal(err)
	}
	r, err := s.Resolve(opts)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func mustRun(t *testing.T, r *Resolved, name string) ResolvedRun {
	t.Helper()
	rr, ok := r.Run(name)
	if !ok {
		t.Fatalf("%s has no run %s", r.ID, name)
	}
	return rr
}

func TestResolveCIFARPaperScale(t *testing.T) {
	r := resolveBuiltin(t, "table6", Options{Scale: ScalePaper})
	r56, r110 := mustRun(t, r, "resnet-56"), mustRun(t, r, "resnet-110")
	tr := r56.Config.Training
	// A.10: batch 128, 64k iterations, /10 at 32k and 48k; no warm-up below
	// 110 layers.
	if got := words(tr.Batch, tr.Iterations, tr.Schedule.Steps, tr.Schedule.Warmup == nil, r56.Seeds); got != "128 64000 [32000 48000] true [1]" {
		t.Errorf("resnet-56: %s", got)
	}
	if r56.Config.Shortcut != "A" || r56.Config.Width != 1 || r56.Protocol != "single" || r56.Config.ProxyOf != "" {
		t.Errorf("resnet-56 config %+v protocol %s", r56.Config, r56.Protocol)
	}
	// ResNet-110: warm-up at 0.01 until training error < 80%, 5 seeds.
	w := r110.Config.Training.Schedule.Warmup
	if w == nil || w.LR != 0.01 || w.UntilTrainErrorBelow != 80 || w.MaxIterations != 2000 || w.Families != nil || w.MinDepth != 0 {
		t.Errorf("resnet-110 warm-up %+v", w)
	}
	if words(r110.Seeds) != "[1 2 3 4 5]" || len(r110.IDs) != 5 {
		t.Errorf("resnet-110 seeds %v ids %v", r110.Seeds, r110.IDs)
	}
	// The recipe table itself is never modified by resolution.
	if Recipes["cifar-paper"].Schedule.Warmup.MinDepth != 110 {
		t.Error("resolution wrote into Recipes")
	}
}

// TestResolveCIFARMediumScale: issue 15's medium scale is cifar-paper at
// 1/8 of its 64k iterations, everything else the paper's.
func TestResolveCIFARMediumScale(t *testing.T) {
	r := resolveBuiltin(t, "table6", Options{Scale: ScaleMedium})
	r20, r110, r1202 := mustRun(t, r, "resnet-20"), mustRun(t, r, "resnet-110"), mustRun(t, r, "resnet-1202")
	tr, ev := r20.Config.Training, r20.Config.Eval
	// 64000/8 = 8000 iterations; the LR steps 32k, 48k scale to 4000, 6000;
	// every 500 iterations on the whole test set (subset 0), 45k/5k split.
	if got := words(tr.Batch, tr.Iterations, tr.Schedule.Steps, ev.Interval, ev.Subset, tr.Split, tr.TrainSubset, r20.Config.Width); got != "128 8000 [4000 6000] 500 0 45k/5k 0 1" {
		t.Errorf("resnet-20 at medium: %s", got)
	}
	// ResNet-110 keeps the paper's warm-up and has 3 seeds at medium (the
	// spec's scales.medium).
	if w := r110.Config.Training.Schedule.Warmup; w == nil || w.LR != 0.01 || w.MaxIterations != 2000 || words(r110.Seeds) != "[1 2 3]" {
		t.Errorf("resnet-110 at medium: warm-up %+v seeds %v", w, r110.Seeds)
	}
	if r1202.Skipped == "" || !strings.Contains(r1202.Skipped, "repro submit table6") {
		t.Errorf("resnet-1202 at medium: skipped %q, want the cluster command", r1202.Skipped)
	}
	// Medium is its own configuration: no run is shared with quick or paper.
	for _, sc := range []string{ScaleQuick, ScalePaper} {
		if other := mustRun(t, resolveBuiltin(t, "table6", Options{Scale: sc}), "resnet-20"); other.IDs[0] == r20.IDs[0] {
			t.Errorf("resnet-20 at medium shares its identity with %s scale", sc)
		}
	}
}

func TestResolveScalesStepsAndOverrides(t *testing.T) {
	// fig1 at quick: 1000 iterations, steps scaled from 32k/64k and 48k/64k.
	r := resolveBuiltin(t, "fig1", Options{Scale: ScaleQuick})
	tr := mustRun(t, r, "plain-56").Config.Training
	if got := words(tr.Iterations, tr.Schedule.Steps, mustRun(t, r, "plain-56").Config.Eval.Interval); got != "1000 [500 750] 200" {
		t.Errorf("fig1 quick: %s", got)
	}
	// table6 at smoke: scale defaults (4 iterations -> steps [2 3]), width
	// 0.25, the run override of seeds, and ResNet-1202's stand-in model,
	// which keeps the warm-up (110 layers) capped at 2 iterations.
	r = resolveBuiltin(t, "table6", Options{Scale: ScaleSmoke})
	r110, r1202 := mustRun(t, r, "resnet-110"), mustRun(t, r, "resnet-1202")
	if got := words(r110.Config.Width, r110.Config.Training.Iterations, r110.Config.Training.Schedule.Steps, r110.Seeds); got != "0.25 4 [2 3] [1 2]" {
		t.Errorf("table6 smoke resnet-110: %s", got)
	}
	if r1202.Config.Model != "resnet-110" || r1202.Config.Training.Schedule.Warmup == nil || r1202.Config.Training.Schedule.Warmup.MaxIterations != 2 {
		t.Errorf("table6 smoke resnet-1202: %+v", r1202.Config)
	}
	// Options.Seeds replaces every seed count.
	r = resolveBuiltin(t, "table6", Options{Scale: ScalePaper, Seeds: 3})
	if words(mustRun(t, r, "resnet-110").Seeds, mustRun(t, r, "resnet-20").Seeds) != "[1 2 3] [1 2 3]" {
		t.Error("Options.Seeds not applied")
	}
}

func TestResolveImageNetProxy(t *testing.T) {
	// Quick without ImageNet: CIFAR-10 proxy of Table 1's layouts, trained
	// with the CIFAR recipe and no warm-up, single-view protocol.
	r := resolveBuiltin(t, "table3", Options{Scale: ScaleQuick})
	p := mustRun(t, r, "resnet-152")
	c := p.Config
	if got := words(c.Model, c.Layout, c.Shortcut, c.Dataset, c.ProxyOf, c.Input, c.Stem, c.Classes, c.Training.Recipe, c.Training.Schedule.Warmup == nil, p.Protocol); got != "resnet-152 imagenet B cifar10 imagenet 32 cifar 10 cifar-paper true single" {
		t.Errorf("proxy: %s", got)
	}
	// table3.yaml's quick budget: width 1/4, 500 iterations, steps at the
	// recipe's 50% and 75%.
	if got := words(c.Width, c.Training.Iterations, c.Training.Batch, c.Training.Schedule.Steps); got != "0.25 500 128 [250 375]" {
		t.Errorf("proxy budget: %s", got)
	}
	// Quick with ImageNet: the ImageNet recipe, 224 input, plateau schedule.
	r = resolveBuiltin(t, "table3", Options{Scale: ScaleQuick, ImageNet: true})
	p = mustRun(t, r, "resnet-152")
	c = p.Config
	if got := words(c.Dataset, c.ProxyOf == "", c.Input, c.Stem, c.Classes, c.Training.Recipe, c.Training.Schedule.Plateau.Metric, p.Protocol); got != "imagenet true 224 imagenet 1000 imagenet-paper val_error 10-crop" {
		t.Errorf("quick with ImageNet: %s", got)
	}
	// Paper scale: the exact recipe; Table 4 reads the multi-scale view.
	r = resolveBuiltin(t, "table4", Options{Scale: ScalePaper})
	p = mustRun(t, r, "resnet-50")
	if got := words(p.Config.Training.Iterations, p.Config.Training.Batch, p.Config.Training.Schedule.Plateau.Patience, p.Protocol); got != "600000 256 5 multi-scale" {
		t.Errorf("table4 paper: %s", got)
	}
}

func TestIdentity(t *testing.T) {
	// The canonical form is pinned: ID is sha256 of this exact JSON.
	c := Config{Model: "resnet-20", Layout: "cifar10", Shortcut: "A", Width: 1, Dataset: "cifar10", Classes: 10, Input: 32, Stem: "cifar"}
	canon := `{"v":1,"config":{"model":"resnet-20","layout":"cifar10","shortcut":"A","width":1,"dataset":"cifar10","proxy_of":"","classes":10,"input":32,"stem":"cifar"},"seed":3}`
	sum := sha256.Sum256([]byte(canon))
	if got, want := c.ID(3), hex.EncodeToString(sum[:8]); got != want {
		t.Errorf("ID = %s, want %s (sha256 of %s)", got, want, canon)
	}
	if c.ID(3) == c.ID(4) {
		t.Error("seed does not change the identity")
	}

	// Runs with the same configuration share an identity across specs and
	// names; a different shortcut or scale gives a different one.
	for _, scale := range Scales {
		id := func(spec, run string) string {
			return mustRun(t, resolveBuiltin(t, spec, Options{Scale: scale}), run).IDs[0]
		}
		if id("fig6", "resnet-110") != id("table6", "resnet-110") {
			t.Errorf("%s: fig6 and table6 resnet-110 differ", scale)
		}
		if id("fig4", "resnet-34") != id("table2", "resnet-34") || id("fig4", "plain-34") != id("table2", "plain-34") {
			t.Errorf("%s: table2/fig4 runs differ", scale)
		}
		// table2 and table3 have different smoke budgets (table3 takes 2
		// iterations); at quick and paper scale their common runs are one.
		if (id("table2", "resnet-34") == id("table3", "resnet-34-a")) != (scale != ScaleSmoke) {
			t.Errorf("%s: table2 resnet-34 and table3 resnet-34-a: shared %v", scale, scale != ScaleSmoke)
		}
		// fig7's runs are fig6's (one quick budget for the CIFAR specs).
		if id("fig7", "resnet-56") != id("fig6", "resnet-56") || id("fig7", "plain-20") != id("fig6", "plain-20") {
			t.Errorf("%s: fig7 and fig6 runs differ", scale)
		}
		if id("table3", "resnet-50") != id("table4", "resnet-50") || id("table4", "resnet-152") != id("table5", "resnet-152") {
			t.Errorf("%s: table3/4/5 runs differ", scale)
		}
		if id("table3", "resnet-34-a") == id("table3", "resnet-34-b") {
			t.Errorf("%s: options A and B share an identity", scale)
		}
		if !regexp.MustCompile(`^[0-9a-f]{16}$`).MatchString(id("fig1", "plain-20")) {
			t.Errorf("%s: identity %q is not 16 hex digits", scale, id("fig1", "plain-20"))
		}
	}
	a := mustRun(t, resolveBuiltin(t, "fig6", Options{Scale: ScaleSmoke}), "plain-20").IDs[0]
	b := mustRun(t, resolveBuiltin(t, "fig6", Options{Scale: ScalePaper}), "plain-20").IDs[0]
	if a == b {
		t.Error("smoke and paper plain-20 share an identity")
	}
}

// words prints values separated by single spaces.
func words(a ...any) string { return strings.TrimSuffix(fmt.Sprintln(a...), "\n") }

func TestEstimateCost(t *testing.T) {
	// One run, 2 seeds, 4 iterations of batch 8, evaluation every 2
	// iterations on 16 images plus one final single view:
	// train = 4*8*2 = 64 images; eval = 2 * (4/2*16 + 16) = 96 images;
	// with 10 multiply-adds per image: 3*10*64 + 10*96 = 2880.
	run := ResolvedRun{Name: "r", Seeds: []int{1, 2}, Config: Config{Model: "resnet-20", Shortcut: "A", Width: 0.25, Dataset: "cifar10", Input: 32,
		Training: &Training{Batch: 8, Iterations: 4}, Eval: &Eval{Set: "test", Interval: 2, Subset: 16, FinalViews: []string{"single"}}}}
	analytic := ResolvedRun{Name: "a", Config: Config{Model: "resnet-18"}}
	var asked string
	macs := func(cfg Config) (int64, error) {
		asked = words(cfg.Model, cfg.Shortcut, cfg.Width, cfg.Input)
		return 10, nil
	}
	c, err := EstimateCost([]ResolvedRun{run, analytic}, macs)
	if err != nil {
		t.Fatal(err)
	}
	if c != (Cost{Trainings: 2, TrainImages: 64, EvalImages: 96, MultiplyAdds: 2880, HaveMACs: true}) || asked != "resnet-20 A 0.25 32" {
		t.Errorf("cost %+v, hook asked %q", c, asked)
	}
	c, _ = EstimateCost([]ResolvedRun{run}, nil)
	if c.MultiplyAdds != 0 || c.HaveMACs || c.TrainImages != 64 {
		t.Errorf("without hook: %+v", c)
	}
	// ImageNet at paper scale: 10-crop counts 10 views, multi-scale 5, over
	// the 50k val images: ResNet-50 (one seed) evaluates 600000/5000 = 120
	// center-crop rounds + (1 + 10 + 5) final views = 136 x 50000 images.
	r := mustRun(t, resolveBuiltin(t, "table4", Options{Scale: ScalePaper}), "resnet-50")
	c, _ = EstimateCost([]ResolvedRun{r}, nil)
	if c.TrainImages != 600000*256 || c.EvalImages != 136*50000 {
		t.Errorf("table4 resnet-50: %+v", c)
	}
}

// TestResolveSkip: a run skipped at one scale (table6's ResNet-1202 at quick
// scale, Override.Skip) keeps its configuration and its reason but has no
// seeds to train; at paper scale it is trained as the paper says.
func TestResolveSkip(t *testing.T) {
	quick := mustRun(t, resolveBuiltin(t, "table6", Options{Scale: ScaleQuick}), "resnet-1202")
	if quick.Skipped == "" || len(quick.Seeds) != 0 || len(quick.IDs) != 0 || quick.Config.Training == nil {
		t.Errorf("quick resnet-1202: skipped %q seeds %v ids %v", quick.Skipped, quick.Seeds, quick.IDs)
	}
	paper := mustRun(t, resolveBuiltin(t, "table6", Options{Scale: ScalePaper}), "resnet-1202")
	if paper.Skipped != "" || len(paper.Seeds) != 1 {
		t.Errorf("paper resnet-1202: skipped %q seeds %v", paper.Skipped, paper.Seeds)
	}
}
