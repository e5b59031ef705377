// gosmtp-client: go-smtp's own client as a reference peer. Dials, optionally upgrades with STARTTLS verifying the
// server against a CA file, optionally authenticates with AUTH PLAIN, and sends one message read from a file.
//
//	gosmtp-client -addr HOST:PORT [-starttls -cafile F [-servername NAME]] [-user NAME -pass PASS]
//	              -from ADDR -to ADDR[,ADDR...] -file MESSAGE
package main

import (
	"crypto/tls"
	"crypto/x509"
	"flag"
	"io/ioutil"
	"log"
	"os"
	"strings"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// fail prints what failed and, for a server reply, its code and enhanced code (go-smtp's Error() holds only the text).
func fail(what string, err error) {
	if e, ok := err.(*smtp.SMTPError); ok {
		log.Fatalf("%s: %d %d.%d.%d %s", what, e.Code, e.EnhancedCode[0], e.EnhancedCode[1], e.EnhancedCode[2], e.Message)
	}
	log.Fatalf("%s: %v", what, err)
}

func main() {
	addr := flag.String("addr", "127.0.0.1:25", "server address")
	starttls := flag.Bool("starttls", false, "upgrade with STARTTLS (required)")
	caFile := flag.String("cafile", "", "CA certificates (PEM) to verify the server with")
	serverName := flag.String("servername", "localhost", "name to verify in the server certificate")
	user := flag.String("user", "", "AUTH PLAIN user name (empty: no AUTH)")
	pass := flag.String("pass", "", "AUTH PLAIN password")
	from := flag.String("from", "", "envelope sender")
	to := flag.String("to", "", "envelope recipients, comma-separated")
	file := flag.String("file", "", "message file (CRLF line ends)")
	flag.Parse()
	log.SetFlags(0)

	msg, err := ioutil.ReadFile(*file)
	if err != nil {
		log.Fatal(err)
	}
	c, err := smtp.Dial(*addr)
	if err != nil {
		fail("dial", err)
	}
	defer c.Close()
	if err := c.Hello("gosmtp-client.test"); err != nil {
		fail("EHLO", err)
	}
	if *starttls {
		cfg := &tls.Config{ServerName: *serverName}
		if *caFile != "" {
			pem, err := ioutil.ReadFile(*caFile)
			if err != nil {
				log.Fatal(err)
			}
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pem) {
				log.Fatal("no certificates in ", *caFile)
			}
			cfg.RootCAs = pool
		}
		if err := c.StartTLS(cfg); err != nil {
			fail("STARTTLS", err)
		}
	}
	if *user != "" {
		if err := c.Auth(sasl.NewPlainClient("", *user, *pass)); err != nil {
			fail("AUTH", err)
		}
	}
	if err := c.Mail(*from, nil); err != nil {
		fail("MAIL", err)
	}
	for _, rcpt := range strings.Split(*to, ",") {
		if err := c.Rcpt(rcpt); err != nil {
			fail("RCPT", err)
		}
	}
	w, err := c.Data()
	if err != nil {
		fail("DATA", err)
	}
	if _, err := w.Write(msg); err != nil {
		fail("DATA write", err)
	}
	if err := w.Close(); err != nil {
		fail("DATA end", err)
	}
	if err := c.Quit(); err != nil {
		fail("QUIT", err)
	}
	os.Stdout.WriteString("sent\n")
}
