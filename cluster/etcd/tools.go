//go:build tools

// The etcd server binary (its module's main package).
package tools

import _ "go.etcd.io/etcd/server/v3"
