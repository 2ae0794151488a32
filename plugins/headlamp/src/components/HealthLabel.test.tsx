import { render, screen } from '@testing-library/react';
import React from 'react';
import { HealthLabel } from './common';

describe('HealthLabel', () => {
  it('renders the verdict in a Headlamp StatusLabel of its colour', () => {
    const { container, rerender } = render(<HealthLabel verdict="Stuck" />);
    expect(screen.getByText('Stuck')).toBeTruthy();
    const red = getComputedStyle(container.querySelector('[data-verdict] *')!).backgroundColor;
    rerender(<HealthLabel verdict="Healthy" />);
    const green = getComputedStyle(container.querySelector('[data-verdict] *')!).backgroundColor;
    expect(screen.getByText('Healthy')).toBeTruthy();
    expect(red).toMatch(/^rgb/);
    expect(red).not.toEqual(green);
  });
});
