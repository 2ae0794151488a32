//go:build race

package cron

// raceEnabled shortens the brute-force comparisons, which are ten times slower under -race.
const raceEnabled = true
