//go:build tamago

package attach

import (
	"fmt"
	"io"
	"reflect"
	"strings"
)

// writeCounters writes each exported integer field of the struct v as a
// "layer field value" line, the field's name in lower case.
func writeCounters(w io.Writer, layer string, v any) {
	rv := reflect.ValueOf(v)
	rt := rv.Type()
	for i := 0; i < rt.NumField(); i++ {
		f := rt.Field(i)
		if !f.IsExported() {
			continue
		}
		switch x := rv.Field(i); x.Kind() {
		case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
			fmt.Fprintf(w, "%s %s %d\n", layer, strings.ToLower(f.Name), x.Uint())
		case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
			fmt.Fprintf(w, "%s %s %d\n", layer, strings.ToLower(f.Name), x.Int())
		}
	}
}
