package awsec2

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"

	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// maxAnswer bounds what is read of an answer: 50 route tables are about
// 60 KB; a body of megabytes is not an answer to these calls.
const maxAnswer = 16 << 20

// answerError is a successful HTTP answer that is not the service's
// answer to the call (a proxy's page, an error body with status 200, a
// list without the tables asked for, or with others), or one cut short.
// Either may be mended by another attempt, so both are retried within
// the budget.
type answerError struct {
	Op     string
	Status int
	// Cut: the body ended early (a transport failure, not a wrong answer).
	Cut bool
	Err error
}

func (e *answerError) Error() string {
	if e.Cut {
		return fmt.Sprintf("%s: HTTP %d: %v", e.Op, e.Status, e.Err)
	}
	return fmt.Sprintf("%s: HTTP %d: not an EC2 response: %v", e.Op, e.Status, e.Err)
}

func (e *answerError) Unwrap() error { return e.Err }

// addAnswerCheck adds answerCheck to a client's stack, between the
// transport and the SDK's deserializer.
func addAnswerCheck(stack *middleware.Stack) error {
	return stack.Deserialize.Insert(answerCheck{}, "OperationDeserializer", middleware.After)
}

// answerCheck reads a successful answer whole (bounded by maxAnswer) and
// wants its root element to be the call's: <DescribeRouteTablesResponse>
// and so on. The SDK's deserializer takes an empty body, or any XML whose
// elements it does not know, for an empty answer, which for a write is
// success and for a read is "nothing there".
type answerCheck struct{}

func (answerCheck) ID() string { return "RoutehaAnswerCheck" }

func (answerCheck) HandleDeserialize(ctx context.Context, in middleware.DeserializeInput, next middleware.DeserializeHandler) (
	out middleware.DeserializeOutput, md middleware.Metadata, err error,
) {
	out, md, err = next.HandleDeserialize(ctx, in)
	resp, ok := out.RawResponse.(*smithyhttp.Response)
	if err != nil || !ok || resp.StatusCode < 200 || resp.StatusCode > 299 {
		return out, md, err
	}
	op := awsmiddleware.GetOperationName(ctx)
	body, rerr := readBody(resp.Response)
	_ = resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(body))
	switch {
	case rerr != nil:
		return out, md, &answerError{Op: op, Status: resp.StatusCode, Cut: true, Err: fmt.Errorf("reading the answer: %w", rerr)}
	case len(body) > maxAnswer:
		return out, md, &answerError{Op: op, Status: resp.StatusCode, Err: fmt.Errorf("an answer of over %d bytes", maxAnswer)}
	}
	if why := rootIsNot(op+"Response", body); why != nil {
		return out, md, &answerError{Op: op, Status: resp.StatusCode, Err: why}
	}
	return out, md, nil
}

// readBody reads an answer into one buffer sized for it, at most one byte
// more than maxAnswer.
func readBody(resp *http.Response) ([]byte, error) {
	size := int64(64 << 10)
	if resp.ContentLength >= 0 && resp.ContentLength <= maxAnswer {
		size = resp.ContentLength
	}
	buf := bytes.NewBuffer(make([]byte, 0, size+bytes.MinRead))
	_, err := buf.ReadFrom(io.LimitReader(resp.Body, maxAnswer+1))
	return buf.Bytes(), err
}

// rootIsNot says why body's root element is not <want>, nil when it is.
func rootIsNot(want string, body []byte) error {
	dec := xml.NewDecoder(bytes.NewReader(body))
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			if len(bytes.TrimSpace(body)) == 0 {
				return errors.New("an empty answer")
			}
			return errors.New("the answer holds no XML element")
		}
		if err != nil {
			return fmt.Errorf("the answer is not XML: %w", err)
		}
		if se, ok := tok.(xml.StartElement); ok {
			if se.Name.Local != want {
				return fmt.Errorf("the answer is <%.40s>, not <%s>", se.Name.Local, want)
			}
			return nil
		}
	}
}

// checkResult adds a check of the decoded answer to one call: a non-nil
// error from check makes the attempt fail as "not an EC2 response", so
// that it is retried like any answer that was not EC2's.
func checkResult(op string, check func(result any) error) func(*middleware.Stack) error {
	return func(stack *middleware.Stack) error {
		return stack.Deserialize.Add(middleware.DeserializeMiddlewareFunc("RoutehaResultCheck",
			func(ctx context.Context, in middleware.DeserializeInput, next middleware.DeserializeHandler) (
				middleware.DeserializeOutput, middleware.Metadata, error,
			) {
				out, md, err := next.HandleDeserialize(ctx, in)
				if err != nil {
					return out, md, err
				}
				if why := check(out.Result); why != nil {
					status := 0
					if resp, ok := out.RawResponse.(*smithyhttp.Response); ok {
						status = resp.StatusCode
					}
					return out, md, &answerError{Op: op, Status: status, Err: why}
				}
				return out, md, nil
			}), middleware.Before)
	}
}
