//go:build !cgo || noonednn

package choose

import (
	"errors"

	"github.com/resnet-repro/resnet-repro/engine/backend"
)

// OneDNNBuiltIn reports whether the oneDNN backend is compiled in.
const OneDNNBuiltIn = false

func newOneDNN(int) (backend.Backend, error) {
	return nil, errors.New("onednn backend not built in")
}
