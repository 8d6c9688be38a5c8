module github.com/exo-os/exo

go 1.26.0

tool github.com/usbarmory/tamago/cmd/tamago

require (
	github.com/stretchr/testify v1.11.1
	golang.org/x/net v0.47.0
)

require (
	github.com/davecgh/go-spew v1.1.1 // indirect
	github.com/pmezard/go-difflib v1.0.0 // indirect
	github.com/usbarmory/tamago v1.26.0 // indirect
	gopkg.in/yaml.v3 v3.0.1 // indirect
)
