package main

import (
	"fmt"
	"io"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
)

// drawFigure draws the ASH paper's figure 2 for Exo: round-trip time against
// busy environments, for the ASH and upcall paths, p50 and p99, on a
// logarithmic time axis.
func drawFigure(w io.Writer, rows []Row) error {
	p := plot.New()
	p.Title.Text = "Exo: echo round trip against busy environments"
	p.X.Label.Text = "busy environments (never yield)"
	p.Y.Label.Text = "round trip (µs, log scale)"
	p.Y.Scale = plot.LogScale{}
	p.Y.Tick.Marker = plot.LogTicks{Prec: -1}
	p.Legend.Top, p.Legend.Left = true, true
	series := func(get func(Row) time.Duration) plotter.XYs {
		xy := make(plotter.XYs, len(rows))
		for i, r := range rows {
			xy[i].X = float64(r.Busy)
			xy[i].Y = max(float64(get(r).Nanoseconds())/1000, 1)
		}
		return xy
	}
	if err := plotutil.AddLinePoints(p,
		"ASH p50", series(func(r Row) time.Duration { return r.ASH.P50 }),
		"ASH p99", series(func(r Row) time.Duration { return r.ASH.P99 }),
		"upcall p50", series(func(r Row) time.Duration { return r.Upcall.P50 }),
		"upcall p99", series(func(r Row) time.Duration { return r.Upcall.P99 }),
	); err != nil {
		return fmt.Errorf("plot: %w", err)
	}
	wt, err := p.WriterTo(8*vg.Inch, 5*vg.Inch, "png")
	if err != nil {
		return fmt.Errorf("plot: %w", err)
	}
	_, err = wt.WriteTo(w)
	return err
}
