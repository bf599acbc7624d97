package experiments

import "errors"

var errNotRegistered = errors.New("not registered")
