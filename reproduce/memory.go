package reproduce

import (
	"bufio"
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"

	"github.com/resnet-repro/resnet-repro/experiments"
)

// Footprint model of one training run, in bytes, estimated from the
// analytic counts (models.Layout) before anything is allocated:
//
//	params x paramBytes + batch x (activations x activationBytes + imageBytes) + data + baseBytes
//
// paramBytes = 20: weights, gradients and momentum in float32 and two
// spare copies (checkpoint serialisation and its named-tensor map). activationBytes = 12 (3 float32
// values per conv output value: output, BN/ReLU result, gradient) and
// imageBytes = 1 MiB per image of batch-sized scratch independent of the
// width (input, im2col and oneDNN workspaces) fit the measured peak RSS of
// `repro bench --mode train --threads 1` on the 2-core AVX-512 reference
// machine from above: resnet-8 width 0.25 at batch 2048: 2,191 MB (18,442
// activations per image: 1.07 MB per image, nearly all scratch); resnet-20
// at batch 8, 128, 512: 66, 278, 966 MB (188,426 activations); resnet-56
// at 128: 628 MB; resnet-20 width 4 at 128: 1,101 MB; resnet-50 at 8
// (224 pixels): 1,455 MB; about 50 MB of each is the process itself
// (baseBytes rounds it up). The model's estimates of these are 1.05x
// (resnet-50) to 1.82x (resnet-20 at 512) the measured peaks, never below.
const (
	paramBytes      = 20
	activationBytes = 12
	imageBytes      = 1 << 20
	baseBytes       = 64 << 20
	// cifarBytes holds the 60,000 CIFAR-10 images as bytes and a
	// shuffled copy of the 45k training split.
	cifarBytes = 60000*3072 + 45000*3072
)

// TrainingFootprint estimates the peak memory of training c (see the
// footprint model above). It fails only when c does not define a network.
func TrainingFootprint(c experiments.Config) (int64, error) {
	d, err := DefineRun(c)
	if err != nil {
		return 0, err
	}
	l := d.Layout()
	bytes := float64(l.Params)*paramBytes + float64(c.Training.Batch)*(float64(l.Activations)*activationBytes+imageBytes) + baseBytes
	if c.Dataset == "cifar10" {
		bytes += cifarBytes
	}
	if bytes > math.MaxInt64/2 {
		return math.MaxInt64 / 2, nil
	}
	return int64(bytes), nil
}

// MachineMemory is the memory this process may use: the smaller of
// /proc/meminfo's MemTotal and the cgroup (v2 or v1) memory limit, or 0
// when neither can be read (then no run is refused for its size).
func MachineMemory() int64 {
	var limit int64
	if f, err := os.Open("/proc/meminfo"); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if f := strings.Fields(sc.Text()); len(f) >= 2 && f[0] == "MemTotal:" {
				if kb, err := strconv.ParseInt(f[1], 10, 64); err == nil {
					limit = kb << 10
				}
			}
		}
		f.Close()
	}
	for _, p := range []string{"/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"} {
		raw, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		if n, err := strconv.ParseInt(strings.TrimSpace(string(raw)), 10, 64); err == nil && n > 0 && (limit == 0 || n < limit) {
			limit = n
		}
	}
	return limit
}

// checkFits refuses, before anything is allocated, a planned run whose
// estimated footprint exceeds the memory limit (0: no check), naming the
// spec, the run and the fields that set its size.
func checkFits(p PlannedRun, limit int64) error {
	if limit <= 0 {
		return nil
	}
	need, err := TrainingFootprint(p.Config)
	if err != nil {
		return err
	}
	if need <= limit {
		return nil
	}
	return fmt.Errorf("%s/%s: batch %d and width %g need about %s to train %s (estimated from its %s), more than this machine's %s; lower batch or width in the spec or its scale",
		p.Spec, p.Name, p.Config.Training.Batch, p.Config.Width, gib(need), p.Config.Model, countsOf(p.Config), gib(limit))
}

func countsOf(c experiments.Config) string {
	d, err := DefineRun(c)
	if err != nil {
		return "counts"
	}
	l := d.Layout()
	return fmt.Sprintf("%d parameters and %d activations per image", l.Params, l.Activations)
}

func gib(b int64) string { return fmt.Sprintf("%.1f GiB", float64(b)/(1<<30)) }
