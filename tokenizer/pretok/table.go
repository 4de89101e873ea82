package pretok

import "sync"

// The table: every tokenizer.ggml.pre value llama.cpp's
// llama_vocab::impl::load recognises, with the pre-tokenizer type it maps
// to and the flags it sets; and each type's regex list from
// llm_tokenizer_bpe's constructor.

type specFlag uint16

const (
	ignoreMerges specFlag = 1 << iota // ignore_merges = true
	keepSpaces                        // clean_spaces = false
	addBOS                            // add_bos = true
	addSep                            // add_sep = true
	noBOS                             // special_bos_id = LLAMA_TOKEN_NULL
	escapeWS                          // escape_whitespaces = true
	dropWS                            // whitespace session
	newlineWhole                      // gemma4's newline-run lookup
)

func (f specFlag) apply(s *Spec) {
	s.IgnoreMerges = f&ignoreMerges != 0
	s.CleanSpaces = f&keepSpaces == 0
	s.AddBOS = f&addBOS != 0
	s.AddSep = f&addSep != 0
	s.NoBOS = f&noBOS != 0
	s.EscapeWhitespace = f&escapeWS != 0
	s.DropWhitespace = f&dropWS != 0
	s.NewlineWhole = f&newlineWhole != 0
}

type nameEntry struct {
	typ   string
	flags specFlag
}

// byName maps each pre value to its type and flags.
var byName = map[string]nameEntry{
	"default": {"default", 0},

	"llama3":       {"llama3", ignoreMerges | addBOS},
	"llama-v3":     {"llama3", ignoreMerges | addBOS},
	"llama-bpe":    {"llama3", ignoreMerges | addBOS},
	"falcon3":      {"llama3", ignoreMerges | addBOS},
	"falcon-h1":    {"llama3", ignoreMerges | addBOS},
	"pixtral":      {"llama3", ignoreMerges | addBOS},
	"midm-2.0":     {"llama3", ignoreMerges | addBOS},
	"lfm2":         {"llama3", ignoreMerges | addBOS},
	"jina-v5-nano": {"llama3", ignoreMerges | addBOS},
	"minicpm5":     {"minicpm5", ignoreMerges},

	"deepseek-llm":   {"deepseek_llm", keepSpaces},
	"deepseek-coder": {"deepseek_coder", keepSpaces},
	"deepseek-v3":    {"deepseek3_llm", keepSpaces},
	"hunyuan-dense":  {"hunyuan_dense", keepSpaces},
	"hy_v4":          {"hy_v4", keepSpaces},
	"joyai-llm":      {"joyai_llm", keepSpaces},
	"spark2_5":       {"spark2_5", keepSpaces},
	"youtu":          {"youtu", keepSpaces | ignoreMerges},
	"afmoe":          {"afmoe", keepSpaces},

	"falcon":     {"falcon", 0},
	"mpt":        {"mpt", 0},
	"starcoder":  {"starcoder", 0},
	"refact":     {"refact", 0},
	"command-r":  {"command_r", keepSpaces},
	"smollm":     {"smollm", keepSpaces},
	"codeshell":  {"codeshell", 0},
	"exaone":     {"exaone", 0},
	"minerva-7b": {"minerva", 0},
	"mellum2":    {"mellum2", 0},

	"gpt-2":           {"gpt2", 0},
	"phi-2":           {"gpt2", 0},
	"jina-es":         {"gpt2", 0},
	"jina-de":         {"gpt2", 0},
	"gigachat":        {"gpt2", 0},
	"jina-v2-es":      {"gpt2", 0},
	"jina-v2-de":      {"gpt2", 0},
	"a.x-4.0":         {"gpt2", 0},
	"mellum":          {"gpt2", 0},
	"modern-bert":     {"gpt2", 0},
	"exaone4":         {"gpt2", 0},
	"jina-v1-en":      {"gpt2", addSep},
	"jina-v2-code":    {"gpt2", addSep},
	"roberta-bpe":     {"gpt2", addSep},
	"olmo":            {"olmo", 0},
	"jais":            {"jais", 0},
	"trillion":        {"trillion", keepSpaces},
	"granite-docling": {"granite_docling", keepSpaces},

	"jais-2": {"jais2", 0},

	"qwen2":            {"qwen2", keepSpaces},
	"deepseek-r1-qwen": {"qwen2", keepSpaces},
	"kormo":            {"qwen2", keepSpaces},
	"f2llmv2":          {"qwen2", keepSpaces},
	"megrez":           {"qwen2", 0},
	"stablelm2":        {"stablelm2", 0},
	"hunyuan":          {"hunyuan", keepSpaces},
	"solar-open":       {"solar_open", keepSpaces},
	"qwen35":           {"qwen35", keepSpaces},
	"grok-2":           {"grok_2", keepSpaces},
	"laguna":           {"laguna", keepSpaces},
	"bailingmoe":       {"bailingmoe", keepSpaces},
	"bailingmoe2":      {"bailingmoe", keepSpaces},
	"llada-moe":        {"bailingmoe", keepSpaces},
	"seed-coder":       {"seed_coder", keepSpaces},
	"ufakzeka":         {"ufakzeka", keepSpaces},
	"exaone-moe":       {"exaone_moe", 0},

	"dbrx":        {"dbrx", 0},
	"smaug-bpe":   {"smaug", 0},
	"glm4":        {"chatglm4", noBOS},
	"chatglm-bpe": {"chatglm4", noBOS},

	"poro-chat":    {"poro", keepSpaces},
	"bloom":        {"bloom", 0},
	"gpt3-finnish": {"gpt3_finnish", 0},
	"viking":       {"viking", keepSpaces},

	"tekken":                  {"tekken", keepSpaces | ignoreMerges | addBOS},
	"gpt-4o":                  {"gpt4o", keepSpaces},
	"llama4":                  {"gpt4o", keepSpaces},
	"kanana2":                 {"gpt4o", keepSpaces},
	"talkie":                  {"gpt4o", keepSpaces},
	"minimax-m2":              {"minimax_m2", keepSpaces},
	"granite-embed-multi-97m": {"granite_emb_multi", keepSpaces | ignoreMerges},
	"tiny_aya":                {"tiny_aya", keepSpaces},
	"cohere2moe":              {"tiny_aya", keepSpaces},
	"kimi-k2":                 {"kimi_k2", keepSpaces},

	"chameleon": {"chameleon", addBOS | keepSpaces},
	"superbpe":  {"superbpe", keepSpaces},

	"gemma4":                   {"gemma4", escapeWS | newlineWhole},
	"granite-embed-multi-311m": {"gemma4", escapeWS | newlineWhole},
	"sarvam-moe":               {"sarvam_moe", escapeWS | keepSpaces},
	"whitespace":               {"whitespace", dropWS},
}

type typeDef struct {
	patterns []string
	rawUTF8  bool // byte_encode = false

	once  sync.Once
	split Splitter
	err   error
}

func (t *typeDef) splitter() (Splitter, error) {
	t.once.Do(func() { t.split, t.err = compile(t.patterns, true) })
	return t.split, t.err
}

func def(patterns ...string) *typeDef { return &typeDef{patterns: patterns} }

var (
	gpt2Type      = []string{PatternGPT2}
	llama3Type    = []string{patLlama3}
	qwen2Type     = []string{patQwen2}
	starcoderType = []string{patDigit, PatternGPT2}
	gpt4oType     = []string{patGPT4o}
	deepseek3Type = []string{patDigits3, patCJKKana, patDeepseek3}
	poroType      = []string{patPoro}
)

// types maps each pre-tokenizer type to its regex list.
var types = map[string]*typeDef{
	"default": def(patPunctDflt, PatternGPT2, patDigits, patASCII3),

	"llama3":   def(llama3Type...),
	"dbrx":     def(llama3Type...),
	"smaug":    def(llama3Type...),
	"chatglm4": def(llama3Type...),
	"jais2":    def(patJais2),
	"minicpm5": def(patDigits3, patMiniCPM5),

	"deepseek_llm":   def(patNewline, patDeepseekLetters, patDeepseekPunct, patTrailWS, patCJKDeep, patDigits),
	"deepseek_coder": def(patNewline, patDeepseekCoderL, patDeepseekCoderP, patCJKDeep, patDigit),
	"deepseek3_llm":  def(deepseek3Type...),
	"hunyuan_dense":  def(deepseek3Type...),
	"joyai_llm":      def(deepseek3Type...),
	"hy_v4":          def(deepseek3Type...),
	"spark2_5":       def(patDigits3, patCJKKana, patSpark25, patDigit),
	"afmoe":          def(patAFMoEDigits, patAFMoECJK, patDeepseek3),
	"youtu":          def(patYoutuCJK, patYoutu),

	"falcon":    def(patPunctFal, PatternGPT2, patASCII3),
	"starcoder": def(starcoderType...),
	"refact":    def(starcoderType...),
	"command_r": def(starcoderType...),
	"smollm":    def(starcoderType...),
	"codeshell": def(starcoderType...),
	"exaone":    def(starcoderType...),
	"minerva":   def(starcoderType...),
	"mellum2":   def(starcoderType...),

	"gpt2":            def(gpt2Type...),
	"mpt":             def(gpt2Type...),
	"olmo":            def(gpt2Type...),
	"jais":            def(gpt2Type...),
	"trillion":        def(gpt2Type...),
	"granite_docling": def(gpt2Type...),

	"qwen2":      def(qwen2Type...),
	"stablelm2":  def(qwen2Type...),
	"hunyuan":    def(qwen2Type...),
	"solar_open": def(qwen2Type...),
	"grok_2":     def(qwen2Type...),
	"qwen35":     def(patQwen35),
	"laguna":     def(patLines, patQwen2),
	"bailingmoe": def(patBailing),
	"seed_coder": def(patSeedCoder),
	"ufakzeka":   def(patUfakzeka),
	"exaone_moe": def(patExaoneMoE),

	"poro":         def(poroType...),
	"bloom":        def(poroType...),
	"gpt3_finnish": def(poroType...),
	"viking":       def(patPoro, patDigit),

	"tekken":     def(patTekken),
	"gpt4o":      def(gpt4oType...),
	"minimax_m2": def(gpt4oType...),
	// llama.cpp rewrites this one's classes with look-aheads that include
	// \p{M}, to approximate the GPT-4o classes (which have \p{M}) in its
	// engine; the exact classes are the GPT-4o pattern.
	"granite_emb_multi": def(gpt4oType...),
	"tiny_aya":          def(patTinyAyaDigits, patGPT4o),
	"kimi_k2":           def(patKimiK2),

	"chameleon": def(patChameleonSentinel, patChameleonImage, patChameleonSpace, patDigit, patChameleonPunct, PatternGPT2),
	"superbpe":  def(patDigits, patSuperBPE),

	"gemma4":     {patterns: []string{patLines}, rawUTF8: true},
	"sarvam_moe": {patterns: []string{patLines}, rawUTF8: true},
	"whitespace": {patterns: []string{patNonSpace}, rawUTF8: true},
}
