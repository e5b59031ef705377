// gosmtp-server: go-smtp's own server as a reference peer (tests and bench/run.mjs's server scenario). A Backend
// whose Login checks the -user pairs and whose AnonymousLogin accepts everyone; each message is drained and dropped.
// Prints "PORT n" once listening, so callers can ask for port 0.
//
//	gosmtp-server [-tls-cert F -tls-key F] [-user NAME:PASS]... [-max-message-bytes N] HOST:PORT
package main

import (
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/ioutil"
	"log"
	"net"
	"os"
	"strings"

	"github.com/emersion/go-smtp"
)

type users map[string]string

func (u users) String() string { return "" }
func (u users) Set(v string) error {
	i := strings.IndexByte(v, ':')
	if i < 0 {
		return errors.New("want NAME:PASS")
	}
	u[v[:i]] = v[i+1:]
	return nil
}

type backend struct{ users users }

func (b *backend) Login(state *smtp.ConnectionState, username, password string) (smtp.Session, error) {
	if p, ok := b.users[username]; !ok || p != password {
		return nil, errors.New("Invalid username or password")
	}
	return &session{}, nil
}

func (b *backend) AnonymousLogin(state *smtp.ConnectionState) (smtp.Session, error) {
	return &session{}, nil
}

type session struct{}

func (s *session) Mail(from string, opts smtp.MailOptions) error { return nil }
func (s *session) Rcpt(to string) error                          { return nil }
func (s *session) Data(r io.Reader) error {
	_, err := io.Copy(ioutil.Discard, r)
	return err
}
func (s *session) Reset()        {}
func (s *session) Logout() error { return nil }

func main() {
	u := users{}
	cert := flag.String("tls-cert", "", "certificate chain (PEM) for STARTTLS")
	key := flag.String("tls-key", "", "private key (PEM) for STARTTLS")
	maxBytes := flag.Int("max-message-bytes", 64<<20, "largest message accepted")
	flag.Var(u, "user", "NAME:PASS accepted by AUTH (repeatable)")
	flag.Parse()
	addr := "127.0.0.1:0"
	if flag.NArg() > 0 {
		addr = flag.Arg(0)
	}
	s := smtp.NewServer(&backend{users: u})
	s.Domain = "gosmtp.test"
	s.MaxMessageBytes = *maxBytes
	s.MaxRecipients = 100
	if *cert != "" {
		c, err := tls.LoadX509KeyPair(*cert, *key)
		if err != nil {
			log.Fatal(err)
		}
		s.TLSConfig = &tls.Config{Certificates: []tls.Certificate{c}}
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("PORT %d\n", l.Addr().(*net.TCPAddr).Port)
	os.Stdout.Sync()
	log.Fatal(s.Serve(l))
}
