package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/openweights/owl/gguf"
	"github.com/openweights/owl/tokenizer"
)

const tokenizeUsage = "tokenize -m FILE [--ids] [--no-bos] [--parse-special] [--stdin | -f FILE | TEXT]\n" +
	"       owl tokenize --detokenize -m FILE ID..."

// tokenizeStdin is where --stdin reads from (a variable for tests).
var tokenizeStdin io.Reader = os.Stdin

// runTokenize tokenizes text like llama.cpp's llama-tokenize: one line per
// token, "   ID -> 'piece'", or with --ids a single line "[ID, ID, ...]".
func runTokenize(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("tokenize", flag.ContinueOnError)
	fs.SetOutput(stderr)
	model := fs.String("m", "", "the GGUF `FILE` whose vocabulary to use")
	fs.StringVar(model, "model", "", "same as -m")
	ids := fs.Bool("ids", false, "print only the token ids, as [1, 2, 3]")
	noBOS := fs.Bool("no-bos", false, "do not add the BOS (and EOS) tokens the model asks for")
	parseSpecial := fs.Bool("parse-special", false, "turn control tokens written in the text (<|im_start|>) into their ids")
	fs.Bool("no-parse-special", false, "treat control tokens in the text as text (the default)")
	fromStdin := fs.Bool("stdin", false, "read the text from standard input, byte for byte")
	file := fs.String("f", "", "read the text from `FILE`, byte for byte")
	prompt := fs.String("p", "", "the `TEXT` to tokenize")
	showCount := fs.Bool("show-count", false, "print the number of tokens")
	detok := fs.Bool("detokenize", false, "turn the ID arguments back into text")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: owl %s\n", tokenizeUsage)
		fs.PrintDefaults()
	}
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return 2
	}
	fail := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "owl tokenize: "+format+"\n", a...)
		return 1
	}
	if *model == "" {
		return fail("no model: give -m FILE")
	}
	promptSet := false
	fs.Visit(func(f *flag.Flag) { promptSet = promptSet || f.Name == "p" })

	var text string
	if !*detok {
		sources := 0
		for _, on := range []bool{*fromStdin, *file != "", promptSet, len(pos) > 0} {
			if on {
				sources++
			}
		}
		if sources != 1 {
			return fail("give the text exactly once: as an argument, with -p, -f FILE or --stdin")
		}
		switch {
		case *fromStdin:
			b, err := io.ReadAll(tokenizeStdin)
			if err != nil {
				return fail("reading standard input: %v", err)
			}
			text = string(b)
		case *file != "":
			b, err := os.ReadFile(*file)
			if err != nil {
				return fail("%v", err)
			}
			text = string(b)
		case promptSet:
			text = *prompt
		default:
			text = strings.Join(pos, " ")
		}
	}

	f, err := gguf.Open(*model)
	if err != nil {
		return fail("%v", err)
	}
	tok, err := tokenizer.FromGGUF(f)
	f.Close()
	if err != nil {
		return fail("%s: %v", *model, err)
	}

	if *detok {
		if len(pos) == 0 {
			return fail("--detokenize needs token ids as arguments")
		}
		list := make([]int32, 0, len(pos))
		for _, p := range pos {
			for _, field := range strings.FieldsFunc(p, func(r rune) bool { return r == ',' || r == ' ' || r == '[' || r == ']' }) {
				id, err := strconv.ParseInt(field, 10, 32)
				if err != nil || id < 0 || id >= int64(tok.VocabSize()) {
					return fail("bad token id %q (the vocabulary has %d tokens)", field, tok.VocabSize())
				}
				list = append(list, int32(id))
			}
		}
		out := tok.Decode(list)
		out = append(out, '\n')
		if _, err := stdout.Write(out); err != nil {
			return fail("%v", err)
		}
		return 0
	}

	toks := tok.Encode(text, !*noBOS, *parseSpecial)
	var b []byte
	if *ids {
		b = append(b, '[')
		for i, id := range toks {
			if i > 0 {
				b = append(b, ", "...)
			}
			b = strconv.AppendInt(b, int64(id), 10)
		}
		b = append(b, "]\n"...)
	} else {
		for _, id := range toks {
			b = fmt.Appendf(b, "%6d -> '", id)
			b = tok.AppendPiece(b, id)
			b = append(b, "'\n"...)
		}
	}
	if *showCount {
		b = fmt.Appendf(b, "Total number of tokens: %d\n", len(toks))
	}
	if _, err := stdout.Write(b); err != nil {
		return fail("%v", err)
	}
	return 0
}
