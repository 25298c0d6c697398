// Command go-client calls actors of a Shoal cluster from Go, through the ingress, straight to
// each actor's owner node: it deposits into a few accounts (the built-in account actor), reads
// their balances and prints where each call went and what came back.
//
//	GO111MODULE=off GOPATH=/usr/share/gocode go run . -cluster shoal alice bob carol   # Debian's nats.go, offline
//	go mod tidy && go run . -cluster shoal alice bob carol                             # nats.go from the module proxy
//
// Flags (env): -nats URL (NATS_URL), -cluster NAME (SHOAL_CLUSTER), -amount N, -txn KEY (a
// deposit is applied once per account and txn; default: new each run), -wait D (for the shard
// map), -timeout D (of each call), -json (one JSON object per call). The arguments are account
// ids (default: five names).
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"
)

func main() {
	url := flag.String("nats", env("NATS_URL", nats.DefaultURL), "NATS server URL (env NATS_URL)")
	cluster := flag.String("cluster", env("SHOAL_CLUSTER", "shoal"), "Shoal cluster name (env SHOAL_CLUSTER)")
	amount := flag.Int("amount", 5, "amount of each deposit")
	txn := flag.String("txn", "go-"+strconv.FormatInt(time.Now().UnixNano(), 36), "deposit idempotency key")
	wait := flag.Duration("wait", 5*time.Second, "how long to wait for the shard map before calling through the shared subject")
	timeout := flag.Duration("timeout", 10*time.Second, "bound of each call")
	asJSON := flag.Bool("json", false, "print one JSON object per call")
	flag.Parse()
	accounts := flag.Args()
	if len(accounts) == 0 {
		accounts = []string{"alice", "bob", "carol", "dave", "erin"}
	}

	nc, err := nats.Connect(*url, nats.Name("shoal-go-client"))
	if err != nil {
		fail("connect to %s: %v", *url, err)
	}
	defer nc.Close()
	client := NewClient(nc, *cluster)
	client.Timeout = *timeout
	client.Follow()
	defer client.Close()
	if !client.WaitMap(*wait) {
		fmt.Fprintf(os.Stderr, "no shard map of cluster %q after %s: calling through shoal.%s.ask\n", *cluster, *wait, *cluster)
	}

	failed := false
	call := func(op, id string, msg any) {
		owner, shard, _ := client.Owner("account", id)
		reply, via, err := client.Ask("account", id, msg)
		failed = failed || err != nil
		if *asJSON {
			out := map[string]any{"op": op, "id": id, "owner": owner, "shard": shard, "subject": via}
			if err != nil {
				out["error"] = err.Error()
			} else {
				out["reply"] = reply
			}
			line, _ := json.Marshal(out)
			fmt.Println(string(line))
		} else if err != nil {
			fmt.Printf("%-7s %-10q shard %-4d owner %-8s → %s  error: %v\n", op, id, shard, owner, via, err)
		} else {
			fmt.Printf("%-7s %-10q shard %-4d owner %-8s → %s  %s\n", op, id, shard, owner, via, reply)
		}
	}
	for _, id := range accounts {
		call("deposit", id, map[string]any{"deposit": map[string]any{"amount": *amount, "txn": *txn}})
		call("balance", id, map[string]any{"balance": struct{}{}})
	}
	if failed {
		os.Exit(1)
	}
}

func env(name, fallback string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return fallback
}

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "go-client: "+format+"\n", args...)
	os.Exit(2)
}
