// Package ash implements Exo's verified bytecode for packet filters,
// application-specific handlers and wakeup predicates.
package ash
