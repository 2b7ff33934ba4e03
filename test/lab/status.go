package lab

import "net/http"

// StatusWriter is a ResponseWriter that remembers the status it sent, for
// fakes and proxies that count or record answers.
type StatusWriter struct {
	http.ResponseWriter
	// Status is the status sent: 0 before the header is written.
	Status int
}

// WriteHeader records the first status and sends it.
func (w *StatusWriter) WriteHeader(code int) {
	if w.Status == 0 {
		w.Status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

// Write sends the body; without an earlier WriteHeader that is a 200.
func (w *StatusWriter) Write(b []byte) (int, error) {
	if w.Status == 0 {
		w.Status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}
