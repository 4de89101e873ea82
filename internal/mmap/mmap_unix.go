//go:build unix

// Package mmap maps files read-only into memory, so that opening a
// multi-gigabyte model costs no resident memory until its pages are touched.
package mmap

import (
	"fmt"
	"os"
	"syscall"
)

// Map is a read-only view of a whole file.
type Map struct {
	Data   []byte
	mapped bool
}

// Open maps path read-only. An empty file gives an empty Data.
func Open(path string) (*Map, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: not a regular file", path)
	}
	size := st.Size()
	if size == 0 {
		return &Map{}, nil
	}
	if int64(int(size)) != size {
		return nil, fmt.Errorf("%s: file of %d bytes is too large to map", path, size)
	}
	data, err := syscall.Mmap(int(f.Fd()), 0, int(size), syscall.PROT_READ, syscall.MAP_SHARED)
	if err != nil {
		return nil, fmt.Errorf("mmap %s: %w", path, err)
	}
	return &Map{Data: data, mapped: true}, nil
}

// Close unmaps the file; Data must not be used afterwards.
func (m *Map) Close() error {
	if m == nil || !m.mapped {
		return nil
	}
	m.mapped = false
	data := m.Data
	m.Data = nil
	return syscall.Munmap(data)
}
