// Command tiny stands in for the server in hack/image's tests: a small binary to pack.
package main

import "fmt"

func main() { fmt.Println("tiny") }
