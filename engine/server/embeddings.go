package server

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"math"
	"net/http"

	"github.com/openweights/owl/engine"
)

// maxEmbedInputs bounds the inputs of one embeddings request, as OpenAI
// does.
const maxEmbedInputs = 2048

type embeddingRequest struct {
	Model          *string         `json:"model"`
	Input          json.RawMessage `json:"input"`
	EncodingFormat *string         `json:"encoding_format"`
	Dimensions     *int            `json:"dimensions"`
	User           *string         `json:"user"`
}

type embeddingList struct {
	Object string            `json:"object"` // "list"
	Data   []embeddingObject `json:"data"`
	Model  string            `json:"model"`
	Usage  embeddingUsage    `json:"usage"`
}

type embeddingObject struct {
	Object string `json:"object"` // "embedding"
	Index  int    `json:"index"`
	// Embedding is the vector as numbers ([]float32), or as the base64
	// of its little-endian float32 bytes (string).
	Embedding any `json:"embedding"`
}

type embeddingUsage struct {
	PromptTokens int `json:"prompt_tokens"`
	TotalTokens  int `json:"total_tokens"`
}

// handleEmbeddings is POST /v1/embeddings: each input's final hidden
// states pooled (the model's pooling type, else the mean) into a vector
// of unit length. The input is tokenized as completions' prompts are.
func (s *Server) handleEmbeddings(w http.ResponseWriter, r *http.Request) {
	var req embeddingRequest
	if err := decodeBody(w, r, &req); err != nil {
		writeError(w, err)
		return
	}
	info := infoOf(r)
	fail := func(err error) {
		info.err = err.Error()
		writeError(w, err)
	}
	m, err := s.lookup(deref(req.Model))
	if err != nil {
		fail(err)
		return
	}
	info.model = m.ID
	format := "float"
	if req.EncodingFormat != nil {
		format = *req.EncodingFormat
	}
	if format != "float" && format != "base64" {
		fail(badRequest("encoding_format", "Invalid value: '%s'. Supported values are: 'float' and 'base64'.", format))
		return
	}
	size := m.Loaded.Model.HParams().Embd
	if d := req.Dimensions; d != nil && *d != size {
		if *d < 1 {
			fail(badRequest("dimensions", "Invalid 'dimensions': %d. Expected a value ≥ 1.", *d))
		} else {
			fail(notSupported("dimensions", "The model `%s` embeds into %d dimensions and cannot shorten its embeddings to %d: leave 'dimensions' out or set it to %d.", m.ID, size, *d, size))
		}
		return
	}
	ps, err := parsePrompts(m, req.Input, "input", maxEmbedInputs)
	if err != nil {
		fail(err)
		return
	}
	inputs := make([][]int32, len(ps))
	total := 0
	for i, p := range ps {
		n := len(p.tokens)
		if n == 0 {
			fail(badRequest("input", "Invalid 'input': input %d is empty.", i))
			return
		}
		if n > m.Ctx {
			e := badRequest("input", "Invalid 'input': input %d has %d tokens, %d more than the model's maximum context length of %d tokens. Please reduce its length.", i, n, n-m.Ctx, m.Ctx)
			e.Code = "context_length_exceeded"
			fail(e)
			return
		}
		inputs[i] = p.tokens
		total += n
	}
	info.promptTokens = total

	vecs, err := m.Engine.Embed(r.Context(), inputs)
	if err != nil {
		if r.Context().Err() != nil {
			return // the client has gone
		}
		fail(embedError(m, err))
		return
	}
	s.metrics.tokens(m.ID, total, 0, 0)
	out := embeddingList{Object: "list", Data: make([]embeddingObject, len(vecs)), Model: m.ID,
		Usage: embeddingUsage{PromptTokens: total, TotalTokens: total}}
	for i, v := range vecs {
		o := embeddingObject{Object: "embedding", Index: i, Embedding: v}
		if format == "base64" {
			o.Embedding = base64Floats(v)
		}
		out.Data[i] = o
	}
	writeJSON(w, http.StatusOK, out)
}

// embedError maps the engine's refusal of an embeddings request.
func embedError(m *Model, err error) error {
	switch {
	case errors.Is(err, engine.ErrCannotEmbed):
		return &apiError{Status: http.StatusBadRequest, Type: typeInvalidRequest, Param: "model", Code: "model_not_supported",
			Message: "The model `" + m.ID + "` does not support embeddings: " + err.Error()}
	case errors.Is(err, engine.ErrContextFull):
		e := badRequest("input", "%v", err)
		e.Code = "context_length_exceeded"
		return e
	}
	return submitError(err)
}

// base64Floats is v as OpenAI's encoding_format "base64" sends it: the
// base64 of the little-endian float32 bytes.
func base64Floats(v []float32) string {
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
	}
	return base64.StdEncoding.EncodeToString(b)
}
