package grammar_test

import (
	"github.com/openweights/owl/engine"
	"github.com/openweights/owl/engine/grammar"
	"github.com/openweights/owl/tokenizer"
)

// The scheduler takes a *grammar.Constraint as its engine.Constraint, and
// the tokenizer serves as the vocabulary.
var (
	_ engine.Constraint = (*grammar.Constraint)(nil)
	_ grammar.Vocab     = (*tokenizer.Tokenizer)(nil)
)
