package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
)

// apiError is an error answered with OpenAI's error body:
//
//	{"error": {"message": ..., "type": ..., "param": ..., "code": ...}}
//
// param and code are null when empty, as OpenAI sends them.
type apiError struct {
	Status     int
	Message    string
	Type       string
	Param      string
	Code       string
	RetryAfter int // seconds; sets Retry-After when > 0
}

func (e *apiError) Error() string { return e.Message }

// The error types OpenAI uses, and the one llama.cpp's server adds for
// features a server does not have.
const (
	typeInvalidRequest = "invalid_request_error"
	typeAuth           = "authentication_error"
	typeServer         = "server_error"
	typeNotSupported   = "not_supported_error"
	typeUnavailable    = "unavailable_error"
)

func badRequest(param, format string, args ...any) *apiError {
	return &apiError{Status: http.StatusBadRequest, Type: typeInvalidRequest, Param: param, Message: fmt.Sprintf(format, args...)}
}

// notSupported is a 400 for a request feature owl does not implement (yet):
// 400 rather than 501 because the official clients retry 5xx answers.
func notSupported(param, format string, args ...any) *apiError {
	e := badRequest(param, format, args...)
	e.Code = "unsupported_parameter"
	return e
}

func modelNotFound(id string) *apiError {
	return &apiError{
		Status: http.StatusNotFound, Type: typeInvalidRequest, Param: "model", Code: "model_not_found",
		Message: fmt.Sprintf("The model `%s` does not exist or you do not have access to it.", id),
	}
}

func internalError(err error) *apiError {
	return &apiError{Status: http.StatusInternalServerError, Type: typeServer, Message: err.Error()}
}

// errorBody is the JSON OpenAI answers errors with.
type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Message string  `json:"message"`
	Type    string  `json:"type"`
	Param   *string `json:"param"`
	Code    *string `json:"code"`
}

func (e *apiError) body() errorBody {
	d := errorDetail{Message: e.Message, Type: e.Type}
	if e.Param != "" {
		d.Param = &e.Param
	}
	if e.Code != "" {
		d.Code = &e.Code
	}
	return errorBody{d}
}

// writeError answers err, an *apiError or any other error (a 500).
func writeError(w http.ResponseWriter, err error) {
	var e *apiError
	if !errors.As(err, &e) {
		e = internalError(err)
	}
	if e.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(e.RetryAfter))
	}
	writeJSON(w, e.Status, e.body())
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		b, _ = json.Marshal(internalError(err).body())
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}
