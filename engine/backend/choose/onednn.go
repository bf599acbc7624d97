//go:build cgo && !noonednn

package choose

import (
	"github.com/resnet-repro/resnet-repro/engine/backend"
	"github.com/resnet-repro/resnet-repro/engine/backend/cpu"
)

// OneDNNBuiltIn reports whether the oneDNN backend is compiled in.
const OneDNNBuiltIn = true

func newOneDNN(threads int) (backend.Backend, error) { return cpu.New(threads) }
