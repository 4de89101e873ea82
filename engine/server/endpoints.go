package server

import (
	"crypto/rand"
	"net/http"
	"unicode/utf8"
)

// newID returns a random id suffix: 24 characters of [A-Za-z0-9], like
// OpenAI's chatcmpl-... ids.
func newID() string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	var b [24]byte
	rand.Read(b[:])
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b[:])
}

func (m *Model) object() modelObject {
	return modelObject{ID: m.ID, Object: "model", Created: m.Created, OwnedBy: "owl"}
}

func (s *Server) handleModels(w http.ResponseWriter, r *http.Request) {
	out := modelList{Object: "list", Data: []modelObject{}}
	for _, m := range s.modelList() {
		out.Data = append(out.Data, m.object())
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) handleModel(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if id == "" {
		writeError(w, modelNotFound(id))
		return
	}
	m, err := s.lookup(id)
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, m.object())
}

type tokenizeRequest struct {
	Model      *string `json:"model"`
	Content    *string `json:"content"`
	AddSpecial *bool   `json:"add_special"`
	// ParseSpecial turns control-token text into its ids; llama.cpp's
	// server does by default.
	ParseSpecial *bool `json:"parse_special"`
	WithPieces   *bool `json:"with_pieces"`
}

// handleTokenize is llama.cpp's POST /tokenize: {"content": TEXT} →
// {"tokens": [...]}, or with "with_pieces" [{"id", "piece"}] where a
// piece that is not UTF-8 is given as its bytes.
func (s *Server) handleTokenize(w http.ResponseWriter, r *http.Request) {
	var req tokenizeRequest
	if err := decodeBody(w, r, &req); err != nil {
		writeError(w, err)
		return
	}
	m, err := s.lookup(deref(req.Model))
	if err != nil {
		writeError(w, err)
		return
	}
	if req.Content == nil {
		writeError(w, badRequest("content", "Missing required parameter: 'content'."))
		return
	}
	t := m.Loaded.Tokenizer
	ids := t.Encode(*req.Content, deref(req.AddSpecial), req.ParseSpecial == nil || *req.ParseSpecial)
	if !deref(req.WithPieces) {
		if ids == nil {
			ids = []int32{}
		}
		writeJSON(w, http.StatusOK, map[string]any{"tokens": ids})
		return
	}
	type piece struct {
		ID    int32 `json:"id"`
		Piece any   `json:"piece"`
	}
	out := make([]piece, len(ids))
	for i, id := range ids {
		p := t.Piece(id)
		if utf8.Valid(p) {
			out[i] = piece{id, string(p)}
		} else {
			out[i] = piece{id, byteList(p)}
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"tokens": out})
}

// handleDetokenize is llama.cpp's POST /detokenize: {"tokens": [...]} →
// {"content": TEXT}.
func (s *Server) handleDetokenize(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Model  *string `json:"model"`
		Tokens []int64 `json:"tokens"`
	}
	if err := decodeBody(w, r, &req); err != nil {
		writeError(w, err)
		return
	}
	m, err := s.lookup(deref(req.Model))
	if err != nil {
		writeError(w, err)
		return
	}
	t := m.Loaded.Tokenizer
	ids := make([]int32, len(req.Tokens))
	for i, id := range req.Tokens {
		if id < 0 || id >= int64(t.VocabSize()) {
			writeError(w, badRequest("tokens", "Invalid 'tokens': %d is not a token id of this model (0 to %d).", id, t.VocabSize()-1))
			return
		}
		ids[i] = int32(id)
	}
	writeJSON(w, http.StatusOK, map[string]string{"content": string(t.Detokenize(ids, false, true))})
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}
