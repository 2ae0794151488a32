// Package version holds backupview's version, set at build time with
// -ldflags "-X github.com/kubestash/backupview/pkg/version.Version=...".
package version

// Version is the build's version.
var Version = "v0.1.0-dev"
