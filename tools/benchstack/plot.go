package main

import (
	"fmt"
	"image/color"
	"io"
	"math"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
)

// bar is one bar of the ratio chart.
type bar struct {
	label string
	ratio float64
	ahead bool // the first stack is better on this row
}

// bars are the main table's rows that have a ratio, top row first.
func bars(r Report) []bar {
	a, b := r.Servers[0], r.Servers[1]
	var out []bar
	for _, m := range metrics {
		x, ok, _ := ratio(r.Samples, a, b, m)
		if !ok {
			continue
		}
		dir := "lower"
		if m.Higher {
			dir = "higher"
		}
		out = append(out, bar{label: fmt.Sprintf("%s (%s, %s better)", label(m, r.Size), m.Unit, dir), ratio: x, ahead: m.Higher == (x > 1)})
	}
	return out
}

// drawRatios draws the ratios of the medians as horizontal bars from 1,
// on a logarithmic axis (a ratio of 2 as long as one of 0.5); a bar is
// green where the first stack is better, red where the second is.
func drawRatios(w io.Writer, r Report) error {
	a, b := r.Servers[0], r.Servers[1]
	bs := bars(r)
	p := plot.New()
	p.Title.Text = fmt.Sprintf("libOS network stacks: %s / %s, medians over %d round(s)", a, b, r.Rounds)
	p.X.Label.Text = fmt.Sprintf("%s / %s (log scale); green: %s better, red: %s better", a, b, a, b)
	if len(bs) == 0 {
		p.Title.Text += ": no ratios (every measurement failed)"
	}
	labels := make([]string, len(bs))
	var lx plotter.XYs
	var lt []string
	lo, hi := -1.0, 1.0
	for i, x := range bs {
		// Top row first: the nominal axis counts from the bottom.
		y := float64(len(bs) - 1 - i)
		labels[len(bs)-1-i] = x.label
		v := math.Log2(x.ratio)
		lo, hi = min(lo, v), max(hi, v)
		bc, err := plotter.NewBarChart(plotter.Values{v}, vg.Points(12))
		if err != nil {
			return fmt.Errorf("plot: %s: %w", x.label, err)
		}
		bc.Horizontal = true
		bc.XMin = y
		bc.LineStyle.Width = 0
		bc.Color = color.RGBA{R: 200, G: 60, B: 50, A: 255}
		if x.ahead {
			bc.Color = color.RGBA{R: 40, G: 150, B: 70, A: 255}
		}
		p.Add(bc)
		lx = append(lx, plotter.XY{X: v, Y: y})
		lt = append(lt, " "+strconv.FormatFloat(x.ratio, 'f', 2, 64)+" ")
	}
	if len(bs) > 0 {
		one, err := plotter.NewLine(plotter.XYs{{X: 0, Y: -0.5}, {X: 0, Y: float64(len(bs)) - 0.5}})
		if err != nil {
			return fmt.Errorf("plot: %w", err)
		}
		one.LineStyle.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
		p.Add(one)
		txt, err := plotter.NewLabels(plotter.XYLabels{XYs: lx, Labels: lt})
		if err != nil {
			return fmt.Errorf("plot: %w", err)
		}
		for i := range txt.TextStyle {
			txt.TextStyle[i].YAlign = -0.5
			if lx[i].X < 0 {
				txt.TextStyle[i].XAlign = -1 // left of a bar going left
			}
		}
		p.Add(txt)
		p.NominalY(labels...)
	}
	p.X.Min, p.X.Max = math.Floor(lo)-0.5, math.Ceil(hi)+0.5
	p.X.Tick.Marker = plot.TickerFunc(log2Ticks)
	h := vg.Length(len(bs))*0.35*vg.Inch + 1.5*vg.Inch
	wt, err := p.WriterTo(11*vg.Inch, h, "png")
	if err != nil {
		return fmt.Errorf("plot: %w", err)
	}
	_, err = wt.WriteTo(w)
	return err
}

// log2Ticks marks the powers of two between min and max (an axis of
// log2 ratios), labelled as ratios: 0.25, 0.5, 1, 2, 4, ...; every
// second one if there are more than 12.
func log2Ticks(min, max float64) []plot.Tick {
	step := 1
	if max-min > 12 {
		step = 2
	}
	var t []plot.Tick
	for k := int(math.Ceil(min)); float64(k) <= max; k++ {
		if k%step != 0 {
			t = append(t, plot.Tick{Value: float64(k)})
			continue
		}
		t = append(t, plot.Tick{Value: float64(k), Label: strconv.FormatFloat(math.Exp2(float64(k)), 'g', 4, 64)})
	}
	return t
}
