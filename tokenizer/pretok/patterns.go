package pretok

// The pre-tokenizer regexes, from llama.cpp's llm_tokenizer_bpe (which has
// them from each model's tokenizer.json). Where llama.cpp rewrote a pattern
// for its std::regex engine, the original is kept when the rewrite changes
// what it matches (the GPT-4o family's case classes); where the rewrite is
// exact ((?i:'s|..) as '[sS]|.., possessive as greedy quantifiers) the
// rewritten form is used and the original is also registered as a fast
// pattern, so Regex on a tokenizer.json pattern finds the same splitter.

const (
	// PatternGPT2 is the GPT-2 pattern as llama.cpp writes it.
	PatternGPT2 = `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)`
	// PatternByteLevel is the pattern of Hugging Face's ByteLevel
	// pre-tokenizer (use_regex: true). Its final |\s+ only takes single
	// spaces that PatternGPT2 leaves between matches, so both give the same
	// chunks.
	PatternByteLevel = PatternGPT2 + `|\s+`
)

const (
	contrCI = `(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])`
	contrHF = `(?i:'s|'t|'re|'ve|'m|'ll|'d)`
	wsTail  = `\s*[\r\n]+|\s+(?!\S)|\s+`

	patLlama3   = contrCI + `|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|` + wsTail
	patLlama3HF = contrHF + `|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|` + wsTail
	// cl100k_base as tiktoken writes it: possessive quantifiers and
	// \s*[\r\n], which match as the Llama 3 pattern does.
	patCl100k    = contrHF + `|[^\r\n\p{L}\p{N}]?+\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]++[\r\n]*|\s*[\r\n]|\s+(?!\S)|\s+`
	patQwen2     = contrCI + `|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|` + wsTail
	patQwen2HF   = contrHF + `|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|` + wsTail
	patQwen35    = contrCI + `|[^\r\n\p{L}\p{N}]?[\p{L}\p{M}]+|\p{N}| ?[^\s\p{L}\p{M}\p{N}]+[\r\n]*|` + wsTail
	patQwen35HF  = contrHF + `|[^\r\n\p{L}\p{N}]?[\p{L}\p{M}]+|\p{N}| ?[^\s\p{L}\p{M}\p{N}]+[\r\n]*|` + wsTail
	patMiniCPM5  = contrCI + `|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}+| ?[^\s\p{L}\p{N}]+[\r\n]*|` + wsTail
	patSeedCoder = contrCI + `|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1}| ?[^\s\p{L}\p{N}\r\n]+|` + wsTail
	patUfakzeka  = `[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|` + wsTail
	// Bailing MoE: its tokenizer.json has possessive quantifiers, which are
	// greedy ones here since what they guard is disjoint from what follows.
	patBailing   = `'(?:[sSdDmMtT]|[lL][lL]|[vV][eE]|[rR][eE])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]|\s+(?!\S)|\s+`
	patBailingHF = `'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]++[\r\n]*|\s*[\r\n]|\s+(?!\S)|\s+`
	patJais2     = contrCI + `|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|` +
		`\s{512}(?!\S)|\s{256}(?!\S)|\s{128}(?!\S)|\s{64}(?!\S)|\s{32}(?!\S)|\s{16}(?!\S)|\s{8}(?!\S)|\s{4}(?!\S)|\s{1,2}(?!\S)|\s{1}`

	// The GPT-4o (o200k) family: words split at lower-to-upper case changes.
	upperCls = `[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]`
	lowerCls = `[\p{Ll}\p{Lm}\p{Lo}\p{M}]`
	wordPre  = `[^\r\n\p{L}\p{N}]?`
	patGPT4o = wordPre + upperCls + `*` + lowerCls + `+` + contrCI + `?|` + wordPre + upperCls + `+` + lowerCls + `*` + contrCI + `?|` +
		`\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|` + wsTail
	patGPT4oHF = wordPre + upperCls + `*` + lowerCls + `+` + contrHF + `?|` + wordPre + upperCls + `+` + lowerCls + `*` + contrHF + `?|` +
		`\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|` + wsTail
	patTekken = wordPre + upperCls + `*` + lowerCls + `+|` + wordPre + upperCls + `+` + lowerCls + `*|` +
		`\p{N}| ?[^\s\p{L}\p{N}]+[\r\n/]*|` + wsTail
	patYoutu = wordPre + upperCls + `*` + lowerCls + `+` + contrCI + `?|` + wordPre + upperCls + `+` + lowerCls + `*` + contrCI + `?|` +
		`\p{N}| ?[^\s\p{L}\p{N}]+[\r\n/]*|` + wsTail
	// Kimi K2 excludes Han from the word classes (class subtraction in .NET
	// syntax; [..&&[^\p{Han}]] in the original).
	upperNoHan = `[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}-[\p{Han}]]`
	lowerNoHan = `[\p{Ll}\p{Lm}\p{Lo}\p{M}-[\p{Han}]]`
	patKimiK2  = `[\p{Han}]+|` + wordPre + upperNoHan + `*` + lowerNoHan + `+` + contrCI + `?|` + wordPre + upperNoHan + `+` + lowerNoHan + `*` + contrCI + `?|` +
		`\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|` + wsTail

	// DeepSeek V3 and relatives, after digits and CJK are split off.
	asciiPunct   = `[!"#$%&'()*+,\-./:;<=>?@\[\\\]^_` + "`" + `{|}~]`
	patDeepseek3 = asciiPunct + `[A-Za-z]+|[^\r\n\p{L}\p{P}\p{S}]?[\p{L}\p{M}]+| ?[\p{P}\p{S}]+[\r\n]*|` + wsTail
	patSpark25   = asciiPunct + `[A-Za-z]+|[^\r\n\p{L}\p{P}\p{S}]?[\p{L}\p{M}]+| ?[\p{P}\p{S}]+|[\r\n]|\s+(?!\S)|\s+`
	patExaoneMoE = contrCI + `|[^\r\n\p{L}\p{N}]?(?:\p{L}\p{M}*(?: \p{L}\p{M}*)*)+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n/]?|\s*[\r\n]|\s+(?!\S)|\s+`

	patNewline   = `[\r\n]`
	patDigit     = `\p{N}`
	patDigits    = `\p{N}+`
	patDigits3   = `\p{N}{1,3}`
	patASCII3    = `[0-9][0-9][0-9]`
	patTrailWS   = `\s+$`
	patLines     = `[^\n]+|[\n]+`
	patNonSpace  = `\S+`
	patCJKDeep   = "[\u4e00-\u9fa5\u0800-\u4e00\uac00-\ud7ff]+"
	patCJKKana   = "[\u4e00-\u9fa5\u3040-\u309f\u30a0-\u30ff]+"
	patPunctDflt = `[\p{P}\$\+<=>\^~\|]+`
	patPunctFal  = `[\p{P}\$\+<=>\^~\|` + "`" + `]+`
	// The cased letters of Unicode, as DeepSeek LLM's tokenizer lists them.
	patDeepseekLetters = `\s?[A-Za-z` +
		"\u00b5\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u01ba\u01bc-\u01bf\u01c4-\u0293\u0295-\u02af" +
		"\u0370-\u0373\u0376\u0377\u037b-\u037d\u037f\u0386\u0388-\u038a\u038c\u038e-\u03a1\u03a3-\u03f5" +
		"\u03f7-\u0481\u048a-\u052f\u0531-\u0556\u10a0-\u10c5\u13a0-\u13f5\u13f8-\u13fd\u1c90-\u1cba\u1cbd-\u1cbf" +
		"\u1d00-\u1d2b\u1d6b-\u1d77\u1d79-\u1d9a\u1e00-\u1f15\u1f18-\u1f1d\u1f20-\u1f45\u1f48-\u1f4d\u1f50-\u1f57" +
		"\u1f59\u1f5b\u1f5d\u1f5f-\u1f7d\u1f80-\u1fb4\u1fb6-\u1fbc\u1fbe\u1fc2-\u1fc4\u1fc6-\u1fcc\u1fd0-\u1fd3" +
		"\u1fd6-\u1fdb\u1fe0-\u1fec\u1ff2-\u1ff4\u1ff6-\u1ffc\u2102\u2107\u210a-\u2113\u2115\u2119-\u211d\u2124" +
		"\u2126\u2128\u212a-\u212d\u212f-\u2134\u2139\u213c-\u213f\u2145-\u2149\u214e\u2183\u2184\u2c00-\u2c7b" +
		"\u2c7e-\u2ce4\u2ceb-\u2cee\u2cf2\u2cf3\ua640-\ua66d\ua680-\ua69b\ua722-\ua76f\ua771-\ua787\ua78b-\ua78e" +
		"\uab70-\uabbf\ufb00-\ufb06\ufb13-\ufb17\uff21-\uff3a\uff41-\uff5a\U00010400-\U0001044f\U000104b0-\U000104d3" +
		"\U000104d8-\U000104fb\U00010c80-\U00010cb2\U00010cc0-\U00010cf2\U000118a0-\U000118df\U0001e900-\U0001e943]+"
	patDeepseekPunct  = "\\s?[!-/:-~\uff01-\uff0f\uff1a-\uff5e\u2018-\u201f\u3000-\u3002]+"
	patDeepseekCoderL = `\s?\p{L}+`
	patDeepseekCoderP = `\s?\p{P}+`
	// Poro, BLOOM, GPT-3 Finnish, Viking: the parentheses and '|' are
	// literal members of the class, as the original regex has them.
	patPoro     = " ?[^(\\s|.,!?\u2026\u3002\uff0c\u3001\u0964\u06d4\u060c)]+"
	patYoutuCJK = "[\uac00-\ud7a3\u3131-\u318e]+|[\uff01\u2026\u201c\u201d\u2018\u2019\u2014\uff1a\uff1b\uff0c\u3001-\u303f\ufe30-\ufe4f]+|" +
		"[\u3105-\u312f]+|[\u4e00-\u9fa5\u3040-\u309f\u30a0-\u30ff]+"
	patAFMoECJK = "[\u4e00-\u9fff\u3400-\u4dbf\uf900-\ufaff\u3040-\u309f\u30a0-\u30ff\uff65-\uff9f\u2f00-\u2fdf\u0e00-\u0e7f" +
		"\u0e80-\u0eff\u1780-\u17ff\u1000-\u109f\uaa60-\uaa7f\ua9e0-\ua9ff\uac00-\ud7af\u1100-\u11ff]+"
	// AFMoE's digits: llama.cpp names this \p{AFMoE_digits} and implements
	// it by hand; this is the regex with the same matches.
	patAFMoEDigits   = `\p{N}{1,3}(?=(?:\p{N}{3})*(?!\p{N}))`
	patTinyAyaDigits = `\d{1,3}(?=(?:\d{3})*\b)`
	patSuperBPE      = `(?=(\d{3})+(?!\d))`

	patChameleonSentinel = `<sentinel:[0-9]+>`
	patChameleonImage    = `(IMGIMG)((A|B|C|D|E|F|G|H|I){1,4})Z`
	patChameleonSpace    = `([\t\n]|    |  )`
	patChameleonPunct    = `[\p{P}!-/:-@\[-` + "`" + `{-~]`
)

// fastPatterns maps patterns to hand-written splitters, like llama.cpp's
// unicode_regex_split_custom. Simple single-class patterns are compiled by
// parseSimple instead and need no entry.
var fastPatterns = map[string]Splitter{
	PatternGPT2:      scanner{m: gpt2Matcher{}},
	PatternByteLevel: scanner{m: gpt2Matcher{tail: true}},

	patLlama3:    scanner{m: llama3Matcher{contractions: true, digits: 3, punctNL: true}},
	patLlama3HF:  scanner{m: llama3Matcher{contractions: true, digits: 3, punctNL: true}},
	patCl100k:    scanner{m: llama3Matcher{contractions: true, digits: 3, punctNL: true}},
	patQwen2:     scanner{m: llama3Matcher{contractions: true, digits: 1, punctNL: true}},
	patQwen2HF:   scanner{m: llama3Matcher{contractions: true, digits: 1, punctNL: true}},
	patBailing:   scanner{m: llama3Matcher{contractions: true, digits: 1, punctNL: true}},
	patBailingHF: scanner{m: llama3Matcher{contractions: true, digits: 1, punctNL: true}},
	patQwen35:    scanner{m: llama3Matcher{contractions: true, marks: true, digits: 1, punctNL: true}},
	patQwen35HF:  scanner{m: llama3Matcher{contractions: true, marks: true, digits: 1, punctNL: true}},
	patMiniCPM5:  scanner{m: llama3Matcher{contractions: true, digits: 0, punctNL: true}},
	patJais2:     scanner{m: llama3Matcher{contractions: true, digits: 3, punctNL: true, cascade: true}},
	patSeedCoder: scanner{m: llama3Matcher{contractions: true, digits: 1}},
	patUfakzeka:  scanner{m: llama3Matcher{digits: 1, punctNL: true}},

	patGPT4o:   scanner{m: gpt4oMatcher{contractions: true, digits: 3, slash: true}},
	patGPT4oHF: scanner{m: gpt4oMatcher{contractions: true, digits: 3, slash: true}},
	patTekken:  scanner{m: gpt4oMatcher{digits: 1, slash: true}},
	patYoutu:   scanner{m: gpt4oMatcher{contractions: true, digits: 1, slash: true}},
	patKimiK2:  scanner{m: gpt4oMatcher{contractions: true, digits: 3, han: true}},

	patDeepseek3: scanner{m: deepseek3Matcher{}},

	patTrailWS:       trailingSpace{},
	patAFMoEDigits:   digitGroups{mask: clN},
	patTinyAyaDigits: digitGroups{mask: clNd, boundary: true},
	patSuperBPE:      digitTriples{},
}
