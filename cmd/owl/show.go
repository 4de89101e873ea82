package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/openweights/owl/gguf"
)

const showUsage = "show [--json] [--tensors] FILE"

// showReport is what `owl show --json` prints.
type showReport struct {
	File string `json:"file"`
	gguf.Summary
	ChatTemplate string       `json:"chat_template"`
	TensorList   []showTensor `json:"tensors,omitempty"`
}

type showTensor struct {
	Name   string   `json:"name"`
	Type   string   `json:"type"`
	Dims   []uint64 `json:"dims"`
	Bytes  int64    `json:"bytes"`
	Offset int64    `json:"offset"` // absolute, in the file
}

func runShow(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("show", flag.ContinueOnError)
	fs.SetOutput(stderr)
	asJSON := fs.Bool("json", false, "print the summary as JSON")
	listTensors := fs.Bool("tensors", false, "list every tensor")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: owl %s\n", showUsage)
		fs.PrintDefaults()
	}
	files, err := parseInterspersed(fs, args)
	if err != nil {
		return 2
	}
	if len(files) != 1 {
		fs.Usage()
		return 2
	}
	path := files[0]
	f, err := gguf.Open(path)
	if err != nil {
		fmt.Fprintf(stderr, "owl show: %v\n", err)
		return 1
	}
	defer f.Close()
	var size int64
	if st, err := os.Stat(path); err == nil {
		size = st.Size()
	}
	r := showReport{File: path, Summary: f.Summarize(size), ChatTemplate: chatTemplateNote(f)}
	if *listTensors {
		for _, t := range f.Tensors {
			r.TensorList = append(r.TensorList, showTensor{t.Name, t.Type.String(), t.Dims, t.Size(), f.DataOffset + int64(t.Offset)})
		}
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(r); err != nil {
			fmt.Fprintf(stderr, "owl show: %v\n", err)
			return 1
		}
		return 0
	}
	printShow(stdout, r)
	return 0
}

// chatTemplateNote says whether the file brings its own chat template or
// owl falls back to ChatML.
func chatTemplateNote(f *gguf.File) string {
	if s, err := f.String("tokenizer.chat_template"); err == nil {
		return fmt.Sprintf("from the file (%d bytes)", len(s))
	}
	return "none in the file: ChatML is used"
}

func printShow(w io.Writer, r showReport) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	row := func(k string, format string, a ...any) {
		fmt.Fprintf(tw, "%s:\t"+format+"\n", append([]any{k}, a...)...)
	}
	row("file", "%s", r.File)
	row("format", "GGUF v%d, %d tensors, %d metadata keys, data at byte %d (alignment %d)", r.Version, r.Tensors, r.MetadataKeys, r.DataOffset, r.Alignment)
	row("architecture", "%s", orNone(r.Architecture))
	if r.Name != "" {
		row("name", "%s", r.Name)
	}
	row("parameters", "%s (%d)", humanCount(r.Parameters), r.Parameters)
	row("file type", "%s", orNone(r.FileType))
	row("file size", "%s", humanBytes(r.FileSize))
	for _, h := range r.Hyper {
		row(h.Name, "%s", formatValue(h.Value))
	}
	tok := r.Tokenizer
	if tok.Model != "" || tok.VocabSize > 0 {
		desc := fmt.Sprintf("%s, %d tokens", orNone(tok.Model), tok.VocabSize)
		if tok.Pre != "" {
			desc += ", pre-tokenizer " + tok.Pre
		}
		if tok.BOS != nil {
			desc += fmt.Sprintf(", bos %d", *tok.BOS)
		}
		if tok.EOS != nil {
			desc += fmt.Sprintf(", eos %d", *tok.EOS)
		}
		row("tokenizer", "%s", desc)
	} else {
		row("tokenizer", "none")
	}
	row("chat template", "%s", r.ChatTemplate)
	tw.Flush()
	if len(r.TensorTypes) > 0 {
		fmt.Fprintln(w, "tensor types:")
		tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		for _, u := range r.TensorTypes {
			fmt.Fprintf(tw, "  %s\t%d tensors\t%s params\t%s\t\n", u.Type, u.Count, humanCount(u.Parameters), humanBytes(u.Bytes))
		}
		tw.Flush()
	}
	if len(r.TensorList) > 0 {
		fmt.Fprintln(w, "tensors:")
		tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		for _, t := range r.TensorList {
			dims := make([]string, len(t.Dims))
			for i, d := range t.Dims {
				dims[i] = fmt.Sprint(d)
			}
			fmt.Fprintf(tw, "  %s\t%s\t[%s]\t%s\tat %d\n", t.Name, t.Type, strings.Join(dims, ", "), humanBytes(t.Bytes), t.Offset)
		}
		tw.Flush()
	}
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

func formatValue(v any) string {
	switch x := v.(type) {
	case float32, float64:
		return fmt.Sprintf("%g", x)
	case []int32, []uint32, []float32, []int64, []uint64:
		s := fmt.Sprint(x)
		if len(s) > 80 {
			s = s[:77] + "..."
		}
		return s
	}
	return fmt.Sprint(v)
}

func humanCount(n int64) string {
	switch {
	case n >= 1e9:
		return fmt.Sprintf("%.2f B", float64(n)/1e9)
	case n >= 1e6:
		return fmt.Sprintf("%.2f M", float64(n)/1e6)
	case n >= 1e3:
		return fmt.Sprintf("%.2f K", float64(n)/1e3)
	}
	return fmt.Sprint(n)
}

func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	v, i := float64(n), -1
	for v >= unit && i < 4 {
		v /= unit
		i++
	}
	return fmt.Sprintf("%.2f %ciB", v, "KMGTP"[i])
}

// parseInterspersed parses flags that may come before or after positional
// arguments (`owl show FILE --json` works as users expect).
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		if args[0] == "--" {
			return append(pos, args[1:]...), nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}
