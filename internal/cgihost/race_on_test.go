//go:build race

package cgihost

const raceEnabled = true
