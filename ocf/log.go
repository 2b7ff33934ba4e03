package ocf

import (
	"fmt"
	"io"
	"log/syslog"
	"os"
	"strings"
	"sync"
	"time"
)

// Level is a log severity, named as ocf_log names them.
type Level int

// Levels, lowest first.
const (
	LevelDebug Level = iota
	LevelInfo
	LevelWarn
	LevelErr
)

func (l Level) String() string {
	return [...]string{"DEBUG", "INFO", "WARNING", "ERROR"}[l]
}

// Logger writes where ocf-shellfuncs' ha_log writes: stderr (which
// pacemaker-execd captures), HA_LOGFILE when set, and syslog with the
// facility HA_LOGFACILITY when set (and not "none"). Debug lines appear only
// with HA_debug/HA_DEBUG. It is safe for concurrent use.
type Logger struct {
	mu     sync.Mutex
	tag    string
	debug  bool
	stderr io.Writer
	file   string
	sys    *syslog.Writer
	now    func() time.Time
	// redact rewrites every message before it is written (Agent.Redact).
	redact func(string) string
}

// NewLogger builds the logger for one run of an agent. tag is
// "agent(resource)", as ocf-shellfuncs tags its lines.
func NewLogger(tag string, env *Env, stderr io.Writer) *Logger {
	l := &Logger{tag: tag, debug: env.Debug(), stderr: stderr, file: env.Get("HA_LOGFILE"), now: time.Now}
	if fac, ok := facility(strings.ToLower(env.Get("HA_LOGFACILITY"))); ok {
		// No syslog daemon is not an error: the lines still reach stderr.
		if w, err := syslog.New(fac|syslog.LOG_INFO, tag); err == nil {
			l.sys = w
		}
	}
	return l
}

// facility maps HA_LOGFACILITY to a syslog facility; "none", empty or an
// unknown name means no syslog.
func facility(name string) (syslog.Priority, bool) {
	switch name {
	case "daemon":
		return syslog.LOG_DAEMON, true
	case "user":
		return syslog.LOG_USER, true
	case "authpriv":
		return syslog.LOG_AUTHPRIV, true
	case "local0", "local1", "local2", "local3", "local4", "local5", "local6", "local7":
		return syslog.LOG_LOCAL0 + syslog.Priority(name[5]-'0')<<3, true
	}
	return 0, false
}

// Close releases the syslog connection.
func (l *Logger) Close() {
	if l != nil && l.sys != nil {
		_ = l.sys.Close()
	}
}

// Debugf logs at debug level.
func (l *Logger) Debugf(format string, args ...any) { l.log(LevelDebug, format, args...) }

// Infof logs at info level.
func (l *Logger) Infof(format string, args ...any) { l.log(LevelInfo, format, args...) }

// Warnf logs at warning level.
func (l *Logger) Warnf(format string, args ...any) { l.log(LevelWarn, format, args...) }

// Errorf logs at error level.
func (l *Logger) Errorf(format string, args ...any) { l.log(LevelErr, format, args...) }

func (l *Logger) log(level Level, format string, args ...any) {
	if l == nil || (level == LevelDebug && !l.debug) {
		return
	}
	msg := strings.TrimRight(fmt.Sprintf(format, args...), "\n")
	if l.redact != nil {
		msg = l.redact(msg)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	fmt.Fprintf(l.stderr, "%s: %s\n", level, msg)
	if l.file != "" {
		// Append with O_APPEND so concurrent agents' lines do not tear.
		if f, err := os.OpenFile(l.file, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640); err == nil {
			fmt.Fprintf(f, "%s[%d]:\t%s %s: %s\n", l.tag, os.Getpid(), l.now().Format("2006/01/02_15:04:05"), level, msg)
			_ = f.Close()
		}
	}
	if l.sys != nil {
		switch level {
		case LevelDebug:
			_ = l.sys.Debug(msg)
		case LevelInfo:
			_ = l.sys.Info(msg)
		case LevelWarn:
			_ = l.sys.Warning(msg)
		default:
			_ = l.sys.Err(msg)
		}
	}
}
