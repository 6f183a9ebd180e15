package lifecycle

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Stage is one step of cluster creation. Stages run in the order of
// Stages(); each is safe to run again on a cluster that already passed it.
type Stage interface {
	Name() string
	Run(ctx context.Context, c *Cluster) error
}

// Stages lists every stage of cluster creation, in order.
func Stages() []Stage {
	return []Stage{
		provision{},
		configure{},
		boot{},
		kubeadmStage{},
		cniStage{},
		storageStage{},
		waitStage{},
		kubeconfigStage{},
	}
}

// StageNames are the stage names, for --until.
func StageNames() []string {
	var names []string
	for _, s := range Stages() {
		names = append(names, s.Name())
	}
	return names
}

// StageError is a stage that failed.
type StageError struct {
	Stage string
	Err   error
}

func (e *StageError) Error() string { return fmt.Sprintf("stage %s: %v", e.Stage, e.Err) }
func (e *StageError) Unwrap() error { return e.Err }

// Timing is how long a stage took.
type Timing struct {
	Stage    string
	Duration time.Duration
}

// runStages runs the stages up to and including until (all when empty),
// printing each with its time.
func runStages(ctx context.Context, c *Cluster, until string) ([]Timing, error) {
	if until != "" && !slices.Contains(StageNames(), until) {
		return nil, fmt.Errorf("unknown stage %q: use one of %s", until, strings.Join(StageNames(), ", "))
	}
	var timings []Timing
	for _, s := range Stages() {
		start := time.Now()
		fmt.Fprintf(c.Progress, " • %-11s ...\n", s.Name())
		err := s.Run(ctx, c)
		d := time.Since(start)
		timings = append(timings, Timing{Stage: s.Name(), Duration: d})
		if err != nil {
			fmt.Fprintf(c.Progress, " ✗ %-11s %6.1fs\n", s.Name(), d.Seconds())
			return timings, &StageError{Stage: s.Name(), Err: err}
		}
		fmt.Fprintf(c.Progress, " ✓ %-11s %6.1fs\n", s.Name(), d.Seconds())
		if s.Name() == until {
			break
		}
	}
	return timings, nil
}

// detail prints one indented progress line inside a stage.
func (c *Cluster) detail(format string, args ...any) {
	c.progressMu.Lock()
	defer c.progressMu.Unlock()
	fmt.Fprintf(c.Progress, "   "+format+"\n", args...)
}
