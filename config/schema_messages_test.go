package config

import (
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
	"github.com/stretchr/testify/require"
)

// Every keyword without an x-messages entry still gets a message in the
// house style, and one we have no words for names its rule.
func TestGenericMessages(t *testing.T) {
	bounds := map[string]any{"minimum": 1.0, "maximum": 9.0}
	for _, c := range []struct {
		k       jsonschema.ErrorKind
		node    map[string]any
		kw, msg string
	}{
		{&kind.Minimum{}, bounds, "minimum", "must be {min}..{max}, got {value}"},
		{&kind.Maximum{}, bounds, "maximum", "must be {min}..{max}, got {value}"},
		{&kind.Minimum{}, map[string]any{"minimum": 1.0}, "minimum", "must be {min} or more, got {value}"},
		{&kind.Maximum{}, map[string]any{"maximum": 9.0}, "maximum", "must be at most {max}, got {value}"},
		{&kind.MinLength{}, nil, "minLength", "must be at least {min} characters, got {length}"},
		{&kind.MaxLength{}, nil, "maxLength", "must be at most {max} characters, got {length}"},
		{&kind.MinItems{}, nil, "minItems", "must list at least {min} item(s)"},
		{&kind.MaxItems{}, nil, "maxItems", "must list at most {max} item(s)"},
		{&kind.Enum{}, nil, "enum", "must be one of {allowed}, got {value}"},
		{&kind.Const{}, nil, "const", "must be {const}, got {value}"},
		{&kind.Pattern{}, nil, "pattern", "{value} does not match {pattern}"},
		{&kind.Not{}, nil, "not", "{value} is not allowed here"},
		{&kind.Format{}, nil, "format", "{value} is not a valid {format}"},
		{&kind.MultipleOf{}, nil, "multipleOf", `fails the schema's "multipleOf" rule`},
	} {
		kw, msg := genericMessage(c.k, c.node)
		require.Equal(t, [2]string{c.kw, c.msg}, [2]string{kw, msg}, "%T", c.k)
	}
}
