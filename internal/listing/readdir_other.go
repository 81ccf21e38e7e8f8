//go:build !linux

package listing

import (
	"errors"
	"fmt"
	"io"
	"os"
)

// readBatch is how many entries readDir asks the directory for at a time;
// it bounds the transient os.DirEntry values held besides the index.
const readBatch = 1024

// readDir adds the entries of f, the open directory dir, to b.
func (b *indexBuilder) readDir(f *os.File, dir string, opt Options) error {
	for {
		batch, err := f.ReadDir(readBatch)
		for _, de := range batch {
			if opt.Hide != nil && opt.Hide(de.Name()) {
				continue
			}
			if err := b.add(entry(dir, de.Name(), de.Type(), opt.Stat), opt.Stat); err != nil {
				return err
			}
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("reading directory: %w", err)
		}
	}
}
