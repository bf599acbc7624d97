//go:build cgo && !noonednn

package choose

import (
	"github.com/resnet-repro/resnet-repro/engine/backend"
	"github.com/resnet-repro/resnet-repro/engine/backend/onednn"
)

// OneDNNBuiltIn reports whether the oneDNN backend is compiled in.
const OneDNNBuiltIn = true

func newOneDNN(threads int) (backend.Backend, error) { return onednn.New(threads) }
