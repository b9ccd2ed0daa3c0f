//go:build !linux

package chtest

import "syscall"

func dieWithParent() *syscall.SysProcAttr { return nil }
