// Command owl runs open-weight language models locally: one binary with
// subcommands in the style of llama.cpp's tools.
package main

import (
	"fmt"
	"io"
	"os"
	"sort"
)

// command is one subcommand. run gets the arguments after the subcommand's
// name and returns the process exit code.
type command struct {
	summary string
	usage   string // the first line of `owl help CMD`, after "owl "
	run     func(args []string, stdout, stderr io.Writer) int
}

// commands lists every subcommand; each lives in a file named after it.
var commands = map[string]command{
	"run":      {summary: "generate text from a prompt, or chat on a terminal", usage: runUsage, run: runRun},
	"serve":    {summary: "serve models over an OpenAI-compatible HTTP API", usage: serveUsage, run: runServe},
	"show":     {summary: "print a model file's metadata and tensors", usage: showUsage, run: runShow},
	"tokenize": {summary: "print the tokens of a text (like llama-tokenize)", usage: tokenizeUsage, run: runTokenize},
}

func main() {
	os.Exit(owl(os.Args[1:], os.Stdout, os.Stderr))
}

func owl(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return 2
	}
	name := args[0]
	switch name {
	case "-h", "--help", "help":
		if name == "help" && len(args) > 1 {
			c, ok := commands[args[1]]
			if !ok {
				fmt.Fprintf(stderr, "owl help: unknown command %q\n", args[1])
				return 2
			}
			fmt.Fprintf(stdout, "usage: owl %s\n\n%s\n", c.usage, c.summary)
			return 0
		}
		usage(stdout)
		return 0
	}
	c, ok := commands[name]
	if !ok {
		fmt.Fprintf(stderr, "owl: unknown command %q (run 'owl --help' for the list)\n", name)
		return 2
	}
	return c.run(args[1:], stdout, stderr)
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "owl runs open-weight language models locally.")
	fmt.Fprintln(w, "\nusage: owl COMMAND [flags]\n\ncommands:")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-11s %s\n", n, commands[n].summary)
	}
	fmt.Fprintln(w, "\nrun 'owl help COMMAND' for a command's flags.")
}
