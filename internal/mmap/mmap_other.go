//go:build !unix

// Package mmap maps files read-only into memory. On systems without mmap
// support in the syscall package the file is read whole instead.
package mmap

import "os"

// Map is a read-only view of a whole file.
type Map struct {
	Data []byte
}

// Open reads path into memory.
func Open(path string) (*Map, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return &Map{Data: data}, nil
}

// Close releases the view.
func (m *Map) Close() error {
	if m != nil {
		m.Data = nil
	}
	return nil
}
