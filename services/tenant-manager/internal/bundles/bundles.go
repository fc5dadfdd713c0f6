// Package bundles keeps edge function bundles in S3 (FUNCTIONS_BUCKET),
// under one prefix per project, and hands the runtime short-lived
// presigned URLs for them, so the functions' own role needs no S3 access.
package bundles

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// Store is one bucket.
type Store struct {
	API    *s3.Client
	Bucket string
}

// ProjectPrefix is where a project's bundles live.
func ProjectPrefix(projectID string) string { return "projects/" + projectID + "/" }

// Put stores a bundle.
func (s *Store) Put(ctx context.Context, key string, body []byte) error {
	_, err := s.API.PutObject(ctx, &s3.PutObjectInput{
		Bucket: aws.String(s.Bucket), Key: aws.String(key), Body: bytes.NewReader(body),
		ContentType: aws.String("application/gzip"), ContentLength: aws.Int64(int64(len(body))),
	})
	if err != nil {
		return fmt.Errorf("storing bundle %s in bucket %s: %w", key, s.Bucket, err)
	}
	return nil
}

// Get reads a bundle of at most limit bytes.
func (s *Store) Get(ctx context.Context, key string, limit int64) ([]byte, error) {
	out, err := s.API.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(s.Bucket), Key: aws.String(key)})
	if err != nil {
		return nil, fmt.Errorf("reading bundle %s: %w", key, err)
	}
	defer out.Body.Close()
	b, err := io.ReadAll(io.LimitReader(out.Body, limit+1))
	if err != nil {
		return nil, fmt.Errorf("reading bundle %s: %w", key, err)
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("bundle %s is larger than %d bytes", key, limit)
	}
	return b, nil
}

// Delete removes bundles; missing ones are fine.
func (s *Store) Delete(ctx context.Context, keys []string) error {
	for len(keys) > 0 {
		n := min(len(keys), 1000)
		objs := make([]types.ObjectIdentifier, 0, n)
		for _, k := range keys[:n] {
			objs = append(objs, types.ObjectIdentifier{Key: aws.String(k)})
		}
		out, err := s.API.DeleteObjects(ctx, &s3.DeleteObjectsInput{Bucket: aws.String(s.Bucket), Delete: &types.Delete{Objects: objs, Quiet: aws.Bool(true)}})
		if err != nil {
			return fmt.Errorf("deleting %d bundles: %w", n, err)
		}
		if len(out.Errors) > 0 {
			return fmt.Errorf("deleting bundle %s: %s", aws.ToString(out.Errors[0].Key), aws.ToString(out.Errors[0].Code))
		}
		keys = keys[n:]
	}
	return nil
}

// DeletePrefix removes every object under prefix (a project's bundles,
// including any a failed deploy left behind).
func (s *Store) DeletePrefix(ctx context.Context, prefix string) error {
	p := s3.NewListObjectsV2Paginator(s.API, &s3.ListObjectsV2Input{Bucket: aws.String(s.Bucket), Prefix: aws.String(prefix)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			var nb *types.NoSuchBucket
			if errors.As(err, &nb) {
				return nil
			}
			return fmt.Errorf("listing bundles under %s: %w", prefix, err)
		}
		keys := make([]string, 0, len(page.Contents))
		for _, o := range page.Contents {
			keys = append(keys, aws.ToString(o.Key))
		}
		if err := s.Delete(ctx, keys); err != nil {
			return err
		}
	}
	return nil
}

// PresignGet is a URL that reads one bundle for ttl.
func (s *Store) PresignGet(ctx context.Context, key string, ttl time.Duration) (string, error) {
	req, err := s3.NewPresignClient(s.API).PresignGetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(s.Bucket), Key: aws.String(key)},
		s3.WithPresignExpires(ttl))
	if err != nil {
		return "", fmt.Errorf("presigning bundle %s: %w", key, err)
	}
	return req.URL, nil
}
