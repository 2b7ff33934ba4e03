// Package awsec2 is the EC2 adapter: route tables, routes and the
// source/destination check, over a Query-protocol client of its own (see
// Client) with aws-sdk-go-v2's credential providers and signer.
package awsec2

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/suzlab/routeha/agent"
)

// Routes implements agent.Routes over the EC2 API.
type Routes struct {
	api      *Client
	attempts *Attempts
}

// New returns the adapter over an EC2 client.
func New(api *Client) *Routes { return &Routes{api: api} }

// NewObserved returns the adapter over a client built with
// Options.Attempts, so that errors say what the retries saw.
func NewObserved(api *Client, attempts *Attempts) *Routes {
	return &Routes{api: api, attempts: attempts}
}

// listParams numbers a list parameter: RouteTableId.1, RouteTableId.2, ...
func listParams(p url.Values, name string, values []string) url.Values {
	for i, v := range values {
		p.Set(name+"."+strconv.Itoa(i+1), v)
	}
	return p
}

// fail classifies an error with what the adapter's retries saw.
func (r *Routes) fail(op string, err error) error { return fail(r.attempts, op, err) }

// fail classifies an error. One that ended in the deadline is explained
// with the last answer the retries saw (attempts may be nil), whose code
// it takes: "throttled until the deadline" is what the operator needs to
// read.
func fail(attempts *Attempts, op string, err error) error {
	explained, last := attempts.Explain(err)
	ae := classify(op, explained).(*agent.APIError)
	if last != nil {
		ae.Kind = agent.KindTransient
		if lastAE, ok := classify(op, last).(*agent.APIError); ok && lastAE.Code != "" {
			ae.Code = lastAE.Code
		} else {
			ae.Code = rootCause(last)
		}
	}
	return ae
}

// rootCause is the innermost message of an error chain ("connection reset
// by peer", "EOF"), short enough for an exit reason.
func rootCause(err error) string {
	for {
		next := errors.Unwrap(err)
		if next == nil {
			break
		}
		err = next
	}
	msg := err.Error()
	if len(msg) > 48 {
		msg = msg[len(msg)-48:]
	}
	return msg
}

var _ agent.Routes = (*Routes)(nil)

// ClockSkew is how far EC2's clock is ahead of this machine's, as its
// answers showed (negative: behind); zero unless a request was refused for
// it (see Client.clockSkew).
func (r *Routes) ClockSkew() time.Duration { return time.Duration(r.api.skew.Load()) }

var _ agent.ClockSkewReporter = (*Routes)(nil)

// Tables describes all tables in one DescribeRouteTables request.
func (r *Routes) Tables(ctx context.Context, ids []string) ([]agent.Table, error) {
	var out routeTablesAnswer
	if err := r.api.call(ctx, "DescribeRouteTables", listParams(url.Values{}, "RouteTableId", ids), &out); err != nil {
		return nil, r.fail("DescribeRouteTables", err)
	}
	tables := out.Tables
	if tables == nil {
		tables = []agent.Table{}
	}
	// EC2 answers InvalidRouteTableID.NotFound for an unknown id, never a
	// short list. A short list is an answer that was not EC2's (a proxy's
	// page, some other XML document): unreadable, transient,
	// and above all not "the table does not exist", which is fatal.
	if missing := missingIDs(ids, tables); len(missing) > 0 {
		return nil, &agent.APIError{Kind: agent.KindUnreadable, Op: "DescribeRouteTables",
			Err: fmt.Errorf("the answer does not list %s; it is not a DescribeRouteTables response", strings.Join(missing, ", "))}
	}
	return tables, nil
}

func missingIDs(ids []string, tables []agent.Table) []string {
	got := make(map[string]bool, len(tables))
	for _, t := range tables {
		got[t.ID] = true
	}
	var missing []string
	for _, id := range ids {
		if !got[id] {
			missing = append(missing, id)
		}
	}
	return missing
}

// Write creates or replaces one route.
func (r *Routes) Write(ctx context.Context, w agent.Write) error {
	p := url.Values{}
	p.Set("RouteTableId", w.Table)
	if w.Destination.Addr().Is4() {
		p.Set("DestinationCidrBlock", w.Destination.String())
	} else {
		p.Set("DestinationIpv6CidrBlock", w.Destination.String())
	}
	if w.Target.InstanceID != "" {
		p.Set("InstanceId", w.Target.InstanceID)
	}
	if w.Target.ENI != "" {
		p.Set("NetworkInterfaceId", w.Target.ENI)
	}
	if w.DryRun {
		p.Set("DryRun", "true")
	}
	op := "ReplaceRoute"
	if w.Create {
		op = "CreateRoute"
	}
	err := r.api.call(ctx, op, p, nil)
	if w.DryRun && isDryRunOK(err) {
		return nil
	}
	if err != nil {
		return r.fail(op, err)
	}
	return nil
}

// VPCTables describes every route table of a VPC, page by page.
func (r *Routes) VPCTables(ctx context.Context, vpcID string) ([]agent.Table, error) {
	var tables []agent.Table
	next := ""
	for {
		p := url.Values{}
		p.Set("Filter.1.Name", "vpc-id")
		p.Set("Filter.1.Value.1", vpcID)
		if next != "" {
			p.Set("NextToken", next)
		}
		var out routeTablesAnswer
		if err := r.api.call(ctx, "DescribeRouteTables", p, &out); err != nil {
			return nil, r.fail("DescribeRouteTables", err)
		}
		tables = append(tables, out.Tables...)
		if out.NextToken == "" || out.NextToken == next {
			return tables, nil
		}
		next = out.NextToken
	}
}

// Interfaces describes network interfaces.
func (r *Routes) Interfaces(ctx context.Context, ids []string) ([]agent.Interface, error) {
	var out describeNetworkInterfacesResponse
	if err := r.api.call(ctx, "DescribeNetworkInterfaces", listParams(url.Values{}, "NetworkInterfaceId", ids), &out); err != nil {
		return nil, r.fail("DescribeNetworkInterfaces", err)
	}
	ifs := make([]agent.Interface, 0, len(out.Interfaces))
	for _, n := range out.Interfaces {
		ifs = append(ifs, agent.Interface{ID: n.ID, AZ: n.AZ, SourceDestCheck: n.SourceDestCheck,
			InstanceID: n.Attachment.InstanceID})
	}
	return ifs, nil
}

// SetSourceDestCheck sets the check on an ENI.
func (r *Routes) SetSourceDestCheck(ctx context.Context, eni string, enabled, dryRun bool) error {
	p := url.Values{}
	p.Set("NetworkInterfaceId", eni)
	p.Set("SourceDestCheck.Value", strconv.FormatBool(enabled))
	if dryRun {
		p.Set("DryRun", "true")
	}
	err := r.api.call(ctx, "ModifyNetworkInterfaceAttribute", p, nil)
	if dryRun && isDryRunOK(err) {
		return nil
	}
	if err != nil {
		return r.fail("ModifyNetworkInterfaceAttribute", err)
	}
	return nil
}

func isDryRunOK(err error) bool {
	var re *ResponseError
	return errors.As(err, &re) && re.Code == "DryRunOperation"
}

// classify maps EC2's error codes onto what they mean for the agent.
func classify(op string, err error) error {
	if ce := innermostCredentialsError(err); ce != nil {
		// The step of the credential chain that failed, with its own
		// code or HTTP status; IAM refusing an AssumeRole is a denial.
		cause := classify(op, ce.Err).(*agent.APIError)
		kind := agent.KindOther
		if cause.Kind == agent.KindDenied || cause.Kind == agent.KindTransient {
			kind = cause.Kind
		}
		code := "no credentials from " + ce.Source
		if cause.Code != "" {
			code += " (" + cause.Code + ")"
		}
		return &agent.APIError{Kind: kind, Op: op, Code: code, Err: err}
	}
	var re *ResponseError
	if !errors.As(err, &re) || re.Code == "" {
		// No EC2 error in the body: name the HTTP status, if there was one.
		code := ""
		var st interface{ HTTPStatusCode() int }
		switch {
		case re != nil:
			code = fmt.Sprintf("HTTP %d", re.Status)
		case errors.As(err, &st) && st.HTTPStatusCode() != 0:
			code = fmt.Sprintf("HTTP %d", st.HTTPStatusCode())
		}
		if re != nil && re.Unreadable() {
			code += ", not an EC2 response"
			return &agent.APIError{Kind: agent.KindUnreadable, Op: op, Code: code,
				Err: fmt.Errorf("the endpoint's answer is not an EC2 response (%w)", err)}
		}
		return &agent.APIError{Kind: agent.KindTransient, Op: op, Code: code, Err: err}
	}
	code, message := re.Code, re.Message
	kind := agent.KindOther
	switch {
	case strings.HasPrefix(code, "InvalidRouteTableID.") || strings.HasPrefix(code, "InvalidRouteTableId."):
		kind = agent.KindTableNotFound
	case code == "UnauthorizedOperation" || code == "AccessDenied" || code == "AuthFailure" ||
		code == "AccessDeniedException" || code == "InvalidClientTokenId":
		kind = agent.KindDenied
	case code == "RouteAlreadyExists":
		kind = agent.KindRouteExists
	case code == "InvalidRoute.NotFound",
		// ReplaceRoute on a missing route: "There is no route defined for
		// '192.0.2.10/32' in the route table. Use CreateRoute instead."
		code == "InvalidParameterValue" && strings.Contains(message, "no route defined"):
		kind = agent.KindRouteNotFound
	case strings.HasPrefix(code, "InvalidInstanceID") || strings.HasPrefix(code, "InvalidNetworkInterfaceID"):
		kind = agent.KindBadTarget
	case code == "RequestLimitExceeded" || code == "Throttling" || code == "ThrottlingException" ||
		code == "InternalError" || code == "Unavailable" || code == "ServiceUnavailable" || code == "InternalFailure":
		kind = agent.KindTransient
	}
	if re.Skew != 0 {
		message += " (this machine's clock is " + agent.SkewWords(re.Skew) + " the service's, by the answer's Date)"
	}
	return &agent.APIError{Kind: kind, Op: op, Code: code, Err: errors.New(message)}
}

// innermostCredentialsError is the credential step nearest the cause: an
// assumed role's source may itself have failed.
func innermostCredentialsError(err error) *CredentialsError {
	var found *CredentialsError
	for err != nil {
		var ce *CredentialsError
		if !errors.As(err, &ce) {
			break
		}
		found = ce
		err = ce.Err
	}
	return found
}
