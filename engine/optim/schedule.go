package optim

import "fmt"

// Schedule gives the learning rate of each iteration. Schedules that react
// to measurements (warm-up until training error falls, divide on plateau)
// are told them through Observe; their whole state is exported so a
// checkpoint can restore it.
type Schedule struct {
	Base float64 // 0.1 in the paper
	// Steps divide the rate by Factor at each listed iteration (CIFAR:
	// 32k and 48k, Sec. 4.2).
	Steps  []int
	Factor float64 // 10
	// Warmup: while WarmupActive, the rate is WarmupLR; it ends when the
	// observed training error drops below WarmupUntilError (ResNet-110:
	// 0.01 until training error < 80%, about 400 iterations, Sec. 4.2), or
	// at WarmupMaxIters as a safety cap (0 = none).
	WarmupLR         float64
	WarmupUntilError float64
	WarmupMaxIters   int
	WarmupActive     bool
	WarmupEndedAt    int // iteration at which warm-up ended, -1 while active or unused
	// WarmupWindow is how many of the latest iterations' training errors
	// the warm-up rule averages (ObserveBatchError); WarmupRecent holds
	// them, oldest first, so a checkpoint resumes the rule exactly.
	WarmupWindow int
	WarmupRecent []float64
	// Plateau divides the rate by Factor when the observed error has not
	// improved by PlateauThreshold for PlateauPatience observations
	// (ImageNet: "divided by 10 when the error plateaus", Sec. 3.4).
	Plateau          bool
	PlateauPatience  int
	PlateauThreshold float64
	PlateauBest      float64 // best error so far; meaningful once PlateauSeen
	PlateauSeen      bool
	PlateauBad       int
	PlateauDivisions int
}

// NewStepSchedule is lr = base / factor^(number of steps passed).
func NewStepSchedule(base, factor float64, steps []int) *Schedule {
	return &Schedule{Base: base, Factor: factor, Steps: steps, WarmupEndedAt: -1}
}

// WithWarmup enables the ResNet-110 warm-up: rate lr until the mean
// training error of the last window iterations (at least 1) is below
// untilError, or until maxIters.
func (s *Schedule) WithWarmup(lr, untilError float64, maxIters, window int) *Schedule {
	s.WarmupLR, s.WarmupUntilError, s.WarmupMaxIters, s.WarmupActive = lr, untilError, maxIters, true
	s.WarmupWindow = max(1, window)
	return s
}

// WithPlateau enables divide-on-plateau.
func (s *Schedule) WithPlateau(patience int, threshold float64) *Schedule {
	s.Plateau, s.PlateauPatience, s.PlateauThreshold = true, patience, threshold
	return s
}

// LR is the rate for iteration it (0-based).
func (s *Schedule) LR(it int) float64 {
	if s.WarmupActive && (s.WarmupMaxIters == 0 || it < s.WarmupMaxIters) {
		return s.WarmupLR
	}
	lr := s.Base
	for _, st := range s.Steps {
		if it >= st {
			lr /= s.Factor
		}
	}
	for i := 0; i < s.PlateauDivisions; i++ {
		lr /= s.Factor
	}
	return lr
}

// ObserveTrainError reports the training error (fraction) measured up to
// iteration it; it may end the warm-up. It returns a description of the
// change, or "".
func (s *Schedule) ObserveTrainError(it int, trainErr float64) string {
	if s.WarmupActive && (trainErr < s.WarmupUntilError || (s.WarmupMaxIters > 0 && it >= s.WarmupMaxIters)) {
		s.WarmupActive = false
		s.WarmupEndedAt = it
		return fmt.Sprintf("warm-up ended at iteration %d (training error %.1f%%)", it, 100*trainErr)
	}
	return ""
}

// ObserveBatchError reports the training error (fraction) of the batch of
// the iteration that brought the count of completed iterations to done.
// While warm-up is active it keeps the last WarmupWindow of them; once the
// window is full their mean goes to ObserveTrainError, whose description
// of a change it returns ("" for none).
func (s *Schedule) ObserveBatchError(done int, batchErr float64) string {
	if s.WarmupWindow <= 0 || !s.WarmupActive {
		return ""
	}
	s.WarmupRecent = append(s.WarmupRecent, batchErr)
	if len(s.WarmupRecent) > s.WarmupWindow {
		s.WarmupRecent = s.WarmupRecent[1:]
	}
	if len(s.WarmupRecent) < s.WarmupWindow {
		return ""
	}
	sum := 0.0
	for _, e := range s.WarmupRecent {
		sum += e
	}
	return s.ObserveTrainError(done, sum/float64(len(s.WarmupRecent)))
}

// ObserveValError reports a validation error for divide-on-plateau; it
// returns a description of a learning-rate change, or "".
func (s *Schedule) ObserveValError(it int, valErr float64) string {
	if !s.Plateau {
		return ""
	}
	if !s.PlateauSeen || valErr < s.PlateauBest-s.PlateauThreshold {
		s.PlateauBest, s.PlateauBad, s.PlateauSeen = valErr, 0, true
		return ""
	}
	s.PlateauBad++
	if s.PlateauBad >= s.PlateauPatience {
		s.PlateauDivisions++
		s.PlateauBad = 0
		s.PlateauBest = valErr
		return fmt.Sprintf("error plateaued at %.2f%%: learning rate divided by %g at iteration %d", 100*valErr, s.Factor, it)
	}
	return ""
}
