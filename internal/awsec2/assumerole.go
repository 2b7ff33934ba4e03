package awsec2

import (
	"context"
	"errors"
	"net/url"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// defaultRoleDuration is what the SDK's stscreds asks for: routeha needs
// credentials for one action, seconds long.
const defaultRoleDuration = 15 * time.Minute

// assumeRole is an aws.CredentialsProvider that calls STS AssumeRole with
// the credentials of its client (a source profile, the instance profile, or
// an earlier role of a chain). Wrap it in aws.NewCredentialsCache.
type assumeRole struct {
	sts         *Client
	arn         string
	sessionName string
	externalID  string
	duration    time.Duration
}

type assumeRoleResponse struct {
	Credentials struct {
		AccessKeyID     string `xml:"AccessKeyId"`
		SecretAccessKey string `xml:"SecretAccessKey"`
		SessionToken    string `xml:"SessionToken"`
		Expiration      string `xml:"Expiration"`
	} `xml:"AssumeRoleResult>Credentials"`
}

func (a *assumeRole) Retrieve(ctx context.Context) (aws.Credentials, error) {
	d := a.duration
	if d <= 0 {
		d = defaultRoleDuration
	}
	p := url.Values{}
	p.Set("RoleArn", a.arn)
	p.Set("RoleSessionName", a.sessionName)
	p.Set("DurationSeconds", strconv.Itoa(int(d/time.Second)))
	if a.externalID != "" {
		p.Set("ExternalId", a.externalID)
	}
	var out assumeRoleResponse
	if err := a.sts.call(ctx, "AssumeRole", p, &out); err != nil {
		return aws.Credentials{}, err
	}
	c := out.Credentials
	if c.AccessKeyID == "" || c.SecretAccessKey == "" {
		return aws.Credentials{}, &ResponseError{Op: "AssumeRole", Status: 200, Err: errors.New("the answer holds no credentials")}
	}
	creds := aws.Credentials{AccessKeyID: c.AccessKeyID, SecretAccessKey: c.SecretAccessKey,
		SessionToken: c.SessionToken, Source: "AssumeRole"}
	if exp, err := time.Parse(time.RFC3339, c.Expiration); err == nil {
		creds.CanExpire, creds.Expires = true, exp
	}
	return creds, nil
}
