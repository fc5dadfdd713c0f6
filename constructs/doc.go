// Package platform holds one typed construct per concern of the Supabase
// platform (docs/architecture.md). The stack in package stacks only
// composes them.
//
// The folder is named constructs/ after what it holds; the package is named
// platform so it does not collide with constructs-go's "constructs".
package platform
