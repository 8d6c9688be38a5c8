// Command ashasm assembles, disassembles, verifies and imports programs for
// Exo's bytecode machine (package ash; docs/BYTECODE.md):
//
//	ashasm asm FILE.s [-o FILE.bin]     assemble LLVM-syntax text to raw instructions
//	ashasm disasm [-section NAME] [-l] FILE.bin|FILE.o
//	                                   print a program as assembly (-l: with slot indexes)
//	ashasm verify -type filter|ash|predicate [-section NAME] [-reply N] [-msg N] [-mem N] FILE
//	                                   verify FILE.s, FILE.bin or an ELF object
//	ashasm cbpf FILE                   translate tcpdump -dd/-ddd output to assembly
//
// FILE "-" is standard input. Raw files are little-endian 8-byte slots, the
// format clang and the Linux kernel use; ELF objects are what
// clang -target bpf -O2 -c writes. Exit status: 0 success, 1 the input was
// rejected, 2 usage errors.
package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/exo-os/exo/ash"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

const usage = `usage:
  ashasm asm FILE.s [-o FILE.bin]
  ashasm disasm [-section NAME] [-l] FILE.bin|FILE.o
  ashasm verify -type filter|ash|predicate [-section NAME] [-reply N] [-msg N] [-mem N] FILE
  ashasm cbpf FILE
`

// run is the whole command, separated from main for the tests.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	t := &tool{stdin: stdin, stdout: stdout, stderr: stderr}
	fs := flag.NewFlagSet("ashasm "+args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cmd func(file string) error
	switch args[0] {
	case "asm":
		out := fs.String("o", "", "output file (default: FILE with .bin instead of .s; - for standard output)")
		cmd = func(file string) error { return t.asm(file, *out) }
	case "disasm":
		section := fs.String("section", "", "ELF: program section or function name (default: the only one)")
		listing := fs.Bool("l", false, "prefix each line with its slot index (not reassemblable)")
		cmd = func(file string) error { return t.disasm(file, *section, *listing) }
	case "verify":
		typ := fs.String("type", "", "program type: filter, ash or predicate")
		section := fs.String("section", "", "ELF: program section or function name")
		var cfg ash.Config
		fs.IntVar(&cfg.ReplySize, "reply", 0, "reply buffer size (ash; default 1514)")
		fs.IntVar(&cfg.MsgSize, "msg", 0, "message buffer size (ash)")
		fs.IntVar(&cfg.MemSize, "mem", 0, "env memory window size (predicate)")
		cmd = func(file string) error {
			switch *typ {
			case "filter":
				cfg.Type = ash.TypeFilter
			case "ash":
				cfg.Type = ash.TypeASH
			case "predicate":
				cfg.Type = ash.TypePredicate
			default:
				return usageError(fmt.Sprintf("-type must be filter, ash or predicate, not %q", *typ))
			}
			return t.verify(file, *section, cfg)
		}
	case "cbpf":
		cmd = t.cbpf
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "ashasm: unknown command %q\n%s", args[0], usage)
		return 2
	}
	files, err := parseInterspersed(fs, args[1:])
	if err != nil {
		return 2 // the flag package has printed the problem
	}
	if len(files) != 1 {
		fmt.Fprintf(stderr, "ashasm %s: want one FILE, have %d\n%s", args[0], len(files), usage)
		return 2
	}
	if err := cmd(files[0]); err != nil {
		fmt.Fprintln(stderr, err)
		var u usageError
		if errors.As(err, &u) {
			return 2
		}
		return 1
	}
	return 0
}

type usageError string

func (u usageError) Error() string { return "ashasm: " + string(u) }

// parseInterspersed parses flags that may come before or after the file
// ("ashasm asm x.s -o x.bin").
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var files []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			return files, nil
		}
		files = append(files, args[0])
		args = args[1:]
	}
}

type tool struct {
	stdin          io.Reader
	stdout, stderr io.Writer
}

func (t *tool) read(file string) ([]byte, error) {
	if file == "-" {
		return io.ReadAll(t.stdin)
	}
	return os.ReadFile(file)
}

// assemble reads FILE.s, reporting errors as FILE:LINE: message.
func (t *tool) assemble(file string, src []byte) ([]ash.Instruction, []int, error) {
	prog, lines, err := ash.AssembleLines(string(src))
	var ae *ash.AsmError
	if errors.As(err, &ae) {
		return nil, nil, fmt.Errorf("%s:%d: %s", file, ae.Line, ae.Msg)
	}
	return prog, lines, err
}

func (t *tool) asm(file, out string) error {
	src, err := t.read(file)
	if err != nil {
		return err
	}
	prog, _, err := t.assemble(file, src)
	if err != nil {
		return err
	}
	if len(prog) == 0 {
		return fmt.Errorf("%s: no instructions", file)
	}
	if out == "" {
		if file == "-" {
			out = "-"
		} else {
			out = strings.TrimSuffix(file, ".s") + ".bin"
		}
	}
	if out == "-" {
		_, err = t.stdout.Write(ash.Encode(prog))
		return err
	}
	return os.WriteFile(out, ash.Encode(prog), 0o644)
}

// load reads a program from assembly text, an ELF object or raw slots.
// lines maps slots to source lines for text input (nil otherwise).
func (t *tool) load(file, section string) ([]ash.Instruction, []int, error) {
	b, err := t.read(file)
	if err != nil {
		return nil, nil, err
	}
	switch {
	case bytes.HasPrefix(b, []byte("\x7fELF")):
		prog, err := ash.LoadELF(b, section)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %v", file, err)
		}
		return prog, nil, nil
	case strings.HasSuffix(file, ".s") || strings.HasSuffix(file, ".S"):
		return t.assemble(file, b)
	}
	if section != "" {
		return nil, nil, usageError(fmt.Sprintf("-section applies to ELF objects; %s is not one", file))
	}
	if len(b) == 0 {
		return nil, nil, fmt.Errorf("%s: empty", file)
	}
	prog, err := ash.Decode(b)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %v", file, err)
	}
	return prog, nil, nil
}

func (t *tool) disasm(file, section string, listing bool) error {
	prog, _, err := t.load(file, section)
	if err != nil {
		return err
	}
	if listing {
		_, err = io.WriteString(t.stdout, ash.DisassembleListing(prog))
	} else {
		_, err = io.WriteString(t.stdout, ash.Disassemble(prog))
	}
	return err
}

func (t *tool) verify(file, section string, cfg ash.Config) error {
	prog, lines, err := t.load(file, section)
	if err != nil {
		return err
	}
	p, err := ash.Verify(prog, cfg)
	var ve *ash.VerifyError
	if errors.As(err, &ve) {
		where := file
		if lines != nil && ve.Index >= 0 && ve.Index < len(lines) {
			where = fmt.Sprintf("%s:%d", file, lines[ve.Index])
		}
		msg := fmt.Sprintf("%s: rejected: %v", where, ve)
		if ve.Index >= 0 && ve.Index < len(prog) {
			text, _ := ash.DisassembleOne(prog, ve.Index)
			msg += fmt.Sprintf("\n%5d:\t%s", ve.Index, text)
		}
		return errors.New(msg)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(t.stdout, "%s: ok: %s program of %d instruction slots\n", file, p.Config().Type, p.Len())
	return nil
}

func (t *tool) cbpf(file string) error {
	b, err := t.read(file)
	if err != nil {
		return err
	}
	c, err := ash.ParseTcpdump(string(b))
	if err != nil {
		return fmt.Errorf("%s: %v", file, err)
	}
	prog, err := ash.TranslateCBPF(c)
	if err != nil {
		return fmt.Errorf("%s: %v", file, err)
	}
	if _, err := ash.Verify(prog, ash.Config{Type: ash.TypeFilter}); err != nil {
		return fmt.Errorf("%s: translation does not verify: %v", file, err)
	}
	fmt.Fprintf(t.stdout, "; %s: %d classic instructions, translated to a filter\n", file, len(c))
	_, err = io.WriteString(t.stdout, ash.Disassemble(prog))
	return err
}
