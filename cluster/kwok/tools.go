//go:build tools

// The kwok controller and kwokctl, whose binary runtime starts the control plane.
package tools

import (
	_ "sigs.k8s.io/kwok/cmd/kwok"
	_ "sigs.k8s.io/kwok/cmd/kwokctl"
)
