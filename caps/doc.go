// Package caps implements Exo's self-authenticating capabilities.
package caps
