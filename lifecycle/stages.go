package lifecycle

import (
	"context"
	"fmt"
	"slices"
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

// NextStage is the stage after name ("" after the last one).
func NextStage(name string) string {
	names := StageNames()
	if i := slices.Index(names, name); i >= 0 && i+1 < len(names) {
		return names[i+1]
	}
	return ""
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

// stageRun says which stages to run: from from (the first when empty) to
// until (the last when empty), live: with a running clock per stage.
type stageRun struct {
	from, until string
	live        bool
}

// liveInterval is how often a running stage's clock is redrawn.
const liveInterval = 100 * time.Millisecond

// runStages runs the stages r selects, printing each with its time.
func runStages(ctx context.Context, c *Cluster, r stageRun) ([]Timing, error) {
	if err := checkStageRange(r.from, r.until); err != nil {
		return nil, err
	}
	var timings []Timing
	started := r.from == ""
	for _, s := range Stages() {
		if !started && s.Name() != r.from {
			continue
		}
		started = true
		start := time.Now()
		stopClock := c.startStage(s.Name(), start, r.live)
		err := s.Run(ctx, c)
		d := time.Since(start)
		stopClock()
		timings = append(timings, Timing{Stage: s.Name(), Duration: d})
		if err != nil {
			c.endStage("✗", s.Name(), d)
			return timings, &StageError{Stage: s.Name(), Err: err}
		}
		c.endStage("✓", s.Name(), d)
		if s.Name() == r.until {
			break
		}
	}
	return timings, nil
}

// clearLine returns the cursor to the start of the line and erases it.
const clearLine = "\r\033[K"

// startStage prints the stage's first line; live, it redraws it with the
// elapsed time until the returned function is called.
func (c *Cluster) startStage(name string, start time.Time, live bool) (stop func()) {
	c.progressMu.Lock()
	defer c.progressMu.Unlock()
	if !live {
		fmt.Fprintf(c.Progress, " • %-11s ...\n", name)
		return func() {}
	}
	draw := func() { fmt.Fprintf(c.Progress, clearLine+" • %-11s %6.1fs", name, time.Since(start).Seconds()) }
	c.redraw = draw
	draw()
	done, stopped := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(stopped)
		t := time.NewTicker(liveInterval)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				c.progressMu.Lock()
				draw()
				c.progressMu.Unlock()
			}
		}
	}()
	return func() {
		close(done)
		<-stopped
		c.progressMu.Lock()
		fmt.Fprint(c.Progress, clearLine)
		c.redraw = nil
		c.progressMu.Unlock()
	}
}

func (c *Cluster) endStage(mark, name string, d time.Duration) {
	c.progressMu.Lock()
	defer c.progressMu.Unlock()
	fmt.Fprintf(c.Progress, " %s %-11s %6.1fs\n", mark, name, d.Seconds())
}

// detail prints one indented progress line inside a stage (above the
// running clock, when there is one).
func (c *Cluster) detail(format string, args ...any) {
	c.progressMu.Lock()
	defer c.progressMu.Unlock()
	if c.redraw != nil {
		fmt.Fprint(c.Progress, clearLine)
	}
	fmt.Fprintf(c.Progress, "   "+format+"\n", args...)
	if c.redraw != nil {
		c.redraw()
	}
}
